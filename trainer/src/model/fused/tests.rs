use burn::tensor::activation;
use burn::tensor::{Device, Tensor, TensorData};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
}

fn close(a: Vec<f32>, b: Vec<f32>, what: &str) {
    assert_eq!(a.len(), b.len());
    for (k, (p, q)) in a.iter().zip(&b).enumerate() {
        assert!((p - q).abs() < 2e-6 * (1.0 + q.abs()), "{what}[{k}]: fused {p} reference {q}");
    }
}

/// Attention against Burn's composition (split heads, scores, bias, softmax, dropout mask,
/// product): the context and the gradients of Q, K and V under autodiff (a loss weighing
/// every output differently), with padding keys in one window and a dropout mask with zeros,
/// and the context without autodiff.
#[test]
fn attention_equals_the_composition_in_outputs_and_gradients() {
    let dev = Device::flex().autodiff();
    let (b, t, h, heads) = (2, 5, 8, 2);
    let d = h / heads;
    let fill = |n: usize, f: f32| (0..n).map(|i| (i as f32 * f).sin()).collect::<Vec<f32>>();
    let n = b * t * h;
    // The second window's last two positions are padding.
    let bias: Vec<f32> = (0..b * t).map(|i| if i >= b * t - 2 { -1e9 } else { 0.0 }).collect();
    let mask: Vec<f32> =
        (0..b * heads * t * t).map(|i| if i % 7 == 3 { 0.0 } else { 1.0 / 0.9 }).collect();
    let weights = Tensor::<3>::from_data(TensorData::new(fill(n, 0.37), [b, t, h]), &dev);
    let reference = |q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, drop: Option<&[f32]>| {
        let device = q.device();
        let split = |y: Tensor<3>| y.reshape([b, t, heads, d]).swap_dims(1, 2);
        let bias4 = Tensor::<4>::from_data(TensorData::new(bias.clone(), [b, 1, 1, t]), &device);
        let scores = split(q).matmul(split(k).swap_dims(2, 3)) / (d as f64).sqrt() + bias4;
        let mut att = activation::softmax(scores, 3);
        if let Some(m) = drop {
            att = att
                * Tensor::<4>::from_data(TensorData::new(m.to_vec(), [b, heads, t, t]), &device);
        }
        att.matmul(split(v)).swap_dims(1, 2).reshape([b, t, h])
    };
    for drop in [None, Some(&mask[..])] {
        let inputs = |device: &Device| {
            [0.53f32, 0.71, 0.29].map(|f| {
                let x = Tensor::<3>::from_data(TensorData::new(fill(n, f), [b, t, h]), device);
                if device.is_autodiff() {
                    x.require_grad()
                } else {
                    x
                }
            })
        };
        let [qa, ka, va] = inputs(&dev);
        let [qb, kb, vb] = inputs(&dev);
        let ours = super::attention(
            qa.clone(),
            ka.clone(),
            va.clone(),
            bias.clone(),
            heads,
            drop.map(<[f32]>::to_vec),
        );
        let theirs = reference(qb.clone(), kb.clone(), vb.clone(), drop);
        close(values(ours.clone()), values(theirs.clone()), "context");
        let ga = (ours * weights.clone()).sum().backward();
        let gb = (theirs * weights.clone()).sum().backward();
        for (name, (x, y)) in ["dq", "dk", "dv"].iter().zip([(qa, qb), (ka, kb), (va, vb)]) {
            close(values(x.grad(&ga).unwrap()), values(y.grad(&gb).unwrap()), name);
        }
        let [qp, kp, vp] = inputs(&Device::flex());
        let plain = super::attention(
            qp.clone(),
            kp.clone(),
            vp.clone(),
            bias.clone(),
            heads,
            drop.map(<[f32]>::to_vec),
        );
        close(values(plain), values(reference(qp, kp, vp, drop)), "context without autodiff");
    }
}

/// A linear layer against Burn's `Linear`: outputs, and the gradients of the input, the
/// weights and the bias under autodiff, on more rows than one task takes (several blocks and a
/// remainder) and more weight rows than one backward task takes; the output without autodiff.
#[test]
fn linear_equals_burns_linear_in_outputs_and_gradients() {
    use burn::module::Param;
    use burn::nn::LinearConfig;
    let (m, d, n) = (150, 40, 9);
    let fill = |k: usize, f: f32| (0..k).map(|i| (i as f32 * f).sin()).collect::<Vec<f32>>();
    for dev in [Device::flex().autodiff(), Device::flex()] {
        let mut layer = LinearConfig::new(d, n).init(&dev);
        let t = |v: Vec<f32>, shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(v, shape), &dev)
        };
        layer.weight = Param::from_tensor(t(fill(d * n, 0.13), [d, n]));
        layer.bias =
            Some(Param::from_tensor(Tensor::from_data(TensorData::new(fill(n, 0.7), [n]), &dev)));
        let x = || {
            let x = t(fill(m * d, 0.31), [m, d]);
            if dev.is_autodiff() {
                x.require_grad()
            } else {
                x
            }
        };
        let (xa, xb) = (x(), x());
        let bias = layer.bias.as_ref().unwrap().val();
        let ours = super::linear(xa.clone(), layer.weight.val(), bias);
        let theirs = layer.forward(xb.clone());
        close(values(ours.clone()), values(theirs.clone()), "linear");
        if !dev.is_autodiff() {
            continue;
        }
        let weights = t(fill(m * n, 0.23), [m, n]);
        let ga = (ours * weights.clone()).sum().backward();
        let gb = (theirs * weights).sum().backward();
        close(values(xa.grad(&ga).unwrap()), values(xb.grad(&gb).unwrap()), "dx");
        let (w, b) = (layer.weight.val(), layer.bias.as_ref().unwrap().val());
        let (dwa, dwb) = (w.grad(&ga).unwrap(), w.grad(&gb).unwrap());
        close(values(dwa), values(dwb), "dw");
        close(values(b.grad(&ga).unwrap()), values(b.grad(&gb).unwrap()), "db");
    }
}

/// GELU and softmax against Burn's own activations: outputs and input gradients under
/// autodiff (a loss weighing every output differently), and outputs without autodiff. The
/// softmax input holds a large negative bias in some positions, as attention's padding does.
#[test]
fn gelu_and_softmax_equal_burns_activations_in_outputs_and_gradients() {
    let dev = Device::flex().autodiff();
    assert!(super::supports(&dev));
    let shape = [2, 3, 5, 9];
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|i| (i as f32 * 0.61).sin() * 6.0 + if i % 9 == 8 { -1e9 } else { 0.0 })
        .collect();
    let smooth: Vec<f32> = (0..n).map(|i| (i as f32 * 0.61).sin() * 6.0).collect();
    let weights = Tensor::<4>::from_data(
        TensorData::new((0..n).map(|i| (i as f32 * 0.29).cos()).collect::<Vec<f32>>(), shape),
        &dev,
    );
    type Op = fn(Tensor<4>) -> Tensor<4>;
    let cases: [(&str, &[f32], Op, Op); 2] = [
        ("gelu", &smooth, super::gelu::<4>, activation::gelu::<4>),
        ("softmax", &data, super::softmax::<4>, |x| activation::softmax(x, 3)),
    ];
    for (name, input, ours, reference) in cases {
        let x =
            || Tensor::<4>::from_data(TensorData::new(input.to_vec(), shape), &dev).require_grad();
        let (xa, xb) = (x(), x());
        let (a, b) = (ours(xa.clone()), reference(xb.clone()));
        close(values(a.clone()), values(b.clone()), name);
        let (ga, gb) =
            ((a * weights.clone()).sum().backward(), (b * weights.clone()).sum().backward());
        close(values(xa.grad(&ga).unwrap()), values(xb.grad(&gb).unwrap()), &format!("d {name}"));
        let plain = Tensor::<4>::from_data(TensorData::new(input.to_vec(), shape), &Device::flex());
        close(
            values(ours(plain.clone())),
            values(reference(plain)),
            &format!("{name} without autodiff"),
        );
    }
}
