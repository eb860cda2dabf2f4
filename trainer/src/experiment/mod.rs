//! Experiments: a grid of training runs from one spec file, run as child
//! `enrelg train` processes, resumable across sessions, with each finished
//! cell's records kept and the tables written from them.
//!
//! A spec (`experiments/NAME.toml`):
//!
//! ```toml
//! description = "Table 1: the graphs' ablation"
//! consistency = true          # also evaluate with consistency decoding
//! [base]                      # TrainConfig fields every cell shares
//! shape_dim = 32
//! [[grid]]                    # axes: `dataset` and any TrainConfig field
//! dataset = ["mars", "anatem"]
//! variant = ["baseline", "cd"]
//! seed = [1, 2, 3]
//! [[grid]]                    # more grids: their cells join the first's
//! dataset = ["mars"]
//! variant = ["cd"]
//! coref_scope = ["document"]
//! seed = [1, 2, 3]
//! ```
//!
//! A cell is named by its dataset, variant, seed and a hash of the rest of
//! its configuration, so every spec that names the same configuration shares
//! one run. Cells run seed-major (every configuration's first seed before
//! any second seed), so an interrupted grid already has one run of every
//! row. A cell is finished when its records hold the evaluation; a cell
//! whose run folder has a `run.json` but no evaluation is resumed
//! (`train --resume`).

pub mod figures;
pub mod plan;
pub mod runner;
pub mod spec;
pub mod tables;

pub use figures::*;
pub use plan::*;
pub use runner::*;
pub use spec::*;
pub use tables::*;

#[cfg(test)]
mod tests {
    use super::figures::mixed_label_shares;
    use super::plan::{estimate_seconds, FinishedCost};
    use super::*;
    use crate::config::TrainConfig;
    use crate::run::consistency_file;

    #[test]
    fn estimates_prefer_the_same_training_fraction_and_else_scale_by_it() {
        let cost = |train_fraction: f64, seconds: &[f64]| FinishedCost {
            train_fraction,
            seconds: seconds.to_vec(),
        };
        // Two full-data cells: 3 epochs on average, 560 s over 6 epochs.
        let mut finished = vec![cost(1.0, &[100.0; 4]), cost(1.0, &[80.0; 2])];
        let per_epoch = 560.0 / 6.0;
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        assert!(close(estimate_seconds(&finished, 1.0, 0), 3.0 * per_epoch));
        assert!(close(estimate_seconds(&finished, 1.0, 1), 2.0 * per_epoch));
        assert_eq!(estimate_seconds(&finished, 1.0, 5), Some(0.0));
        // No quarter-data cell has finished: full-data epochs, scaled.
        assert!(close(estimate_seconds(&finished, 0.25, 0), 3.0 * per_epoch / 4.0));
        // Once one has, its own epochs and seconds are the estimate.
        finished.push(cost(0.25, &[40.0; 10]));
        assert!(close(estimate_seconds(&finished, 0.25, 4), 6.0 * 40.0));
        assert!(close(estimate_seconds(&finished, 1.0, 0), 3.0 * per_epoch));
        assert_eq!(estimate_seconds(&[], 1.0, 0), None);
    }

    fn spec(text: &str) -> Spec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn cells_are_seed_major_named_by_their_configuration_and_carry_the_base() {
        let s = spec(
            r#"
            description = "t"
            [base]
            shape_dim = 32
            [[grid]]
            dataset = ["mars", "anatem"]
            variant = ["baseline", "cd"]
            seed = [1, 2]
            [[grid]]
            dataset = ["mars"]
            variant = ["cd"]
            coref_scope = ["window", "document"]
            seed = [1]
            "#,
        );
        let cells = s.cells().unwrap();
        // The second grid's window-scope CD is the first grid's mars CD: one cell.
        assert_eq!(cells.len(), 9);
        assert!(
            cells[..5].iter().all(|c| c.config.seed == 1)
                && cells[5..].iter().all(|c| c.config.seed == 2)
        );
        assert!(cells.iter().all(|c| c.config.model.shape_dim == 32));
        assert!(
            cells[0].name.starts_with("mars-baseline-") && cells[0].name.ends_with("-seed-1"),
            "{}",
            cells[0].name
        );
        let doc = cells
            .iter()
            .find(|c| c.config.model.coref_scope == crate::model::CorefScope::Document)
            .unwrap();
        let window_cd = cells
            .iter()
            .find(|c| {
                c.dataset == "mars"
                    && c.config.model.variant == crate::model::Variant::Cd
                    && c.config.seed == 1
                    && c.name != doc.name
            })
            .unwrap();
        assert_ne!(doc.name[8..16], window_cd.name[8..16]);
        // The same configuration has the same name whichever spec names it.
        let mut other = TrainConfig::default();
        (other.model.shape_dim, other.seed) = (32, 2);
        assert_eq!(
            cell_name("mars", &other).unwrap(),
            cells
                .iter()
                .find(|c| c.dataset == "mars"
                    && c.config.model.variant == crate::model::Variant::Cd
                    && c.config.seed == 2)
                .unwrap()
                .name
        );
    }

    #[test]
    fn where_filters_by_dataset_and_configuration_fields() {
        let s = spec("description = \"t\"\n[[grid]]\ndataset = [\"mars\", \"anatem\"]\ncoref_scope = [\"window\", \"document\"]\npos_dim = [0, 16]\n");
        let f = |pairs: &[(&str, &str)]| {
            select(
                s.cells().unwrap(),
                &pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>(),
            )
            .unwrap()
            .len()
        };
        assert_eq!(f(&[]), 8);
        assert_eq!(f(&[("dataset", "mars")]), 4);
        assert_eq!(f(&[("dataset", "mars"), ("coref_scope", "document"), ("pos_dim", "0")]), 1);
        assert!(select(s.cells().unwrap(), &[("nope".into(), "1".into())]).is_err());
    }

    #[test]
    fn a_spec_with_its_own_records_folder_shares_no_folder_and_the_command_line_wins() {
        use std::path::{Path, PathBuf};
        let grid = "[[grid]]\ndataset = [\"mars\"]\n";
        let shared = spec(&format!("description = \"t\"\n{grid}"));
        let own = spec(&format!("description = \"t\"\nrecords = \"ten-seeds\"\n{grid}"));
        let paths = |r: &str, s: &str| (PathBuf::from(r), PathBuf::from(s));
        assert_eq!(
            Layout::folders(&shared, None, None),
            paths("runs/experiments", "results/experiments")
        );
        assert_eq!(Layout::folders(&own, None, None), paths("runs/ten-seeds", "results/ten-seeds"));
        assert_eq!(Layout::folders(&own, Some("r".into()), None), paths("r", "results/ten-seeds"));
        assert_eq!(
            Layout::folders(&own, None, Some(Path::new("x").into())),
            paths("runs/ten-seeds", "x")
        );
        let dir = std::env::temp_dir().join(format!("enrelg-records-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for bad in ["../x", "a/b", "", "/abs"] {
            let file = dir.join("bad.toml");
            std::fs::write(&file, format!("description = \"t\"\nrecords = {bad:?}\n{grid}"))
                .unwrap();
            let err = format!("{:#}", Spec::read(&file).unwrap_err());
            assert!(err.contains("bad.toml") && err.contains("one folder name"), "{bad}: {err}");
        }
        std::fs::write(
            dir.join("ok.toml"),
            format!("description = \"t\"\nrecords = \"f\"\n{grid}"),
        )
        .unwrap();
        assert_eq!(Spec::read(&dir.join("ok.toml")).unwrap().records.as_deref(), Some("f"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_value_or_field_names_its_grid() {
        let s = spec("description = \"t\"\n[[grid]]\ndataset = [\"mars\"]\nvariant = [\"cdx\"]\n");
        let err = format!("{:#}", s.cells().unwrap_err());
        assert!(err.contains("grid 1") && err.contains("cdx"), "{err}");
        let s = spec("description = \"t\"\n[[grid]]\ndataset = [\"mars\"]\nno_such_field = [1]\n");
        assert!(format!("{:#}", s.cells().unwrap_err()).contains("no_such_field"));
    }

    #[test]
    fn mixed_label_shares_average_each_rows_runs_and_skip_runs_without_a_record() {
        use crate::decode::consistency::{Consistency, ConsistencyRecord, ThresholdChoice};
        let root = std::env::temp_dir().join(format!("enrelg-shares-{}", std::process::id()));
        let share = |inconsistent: usize| Consistency {
            repeated_strings: 100,
            inconsistent,
            share: inconsistent as f64 / 100.0,
        };
        let write = |name: &str, plain: usize, consistent: usize| {
            let dir = root.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            let record = ConsistencyRecord {
                split: "test".into(),
                dev_split: "dev".into(),
                choice: ThresholdChoice { threshold: 0.5, dev_f1: vec![(0.5, 80.0)] },
                changed_words: 3,
                f1_plain: 80.0,
                f1_consistent: 81.0,
                gold: share(5),
                predicted_plain: share(plain),
                predicted_consistent: share(consistent),
            };
            std::fs::write(
                dir.join(consistency_file("test")),
                serde_json::to_string(&record).unwrap(),
            )
            .unwrap();
            dir
        };
        let a = [write("a1", 30, 10), write("a2", 40, 20)];
        let b = [root.join("no-record")];
        let bars = mixed_label_shares(&[&a[..], &b[..]], "test").unwrap();
        let labels: Vec<&str> = bars.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["gold", "predicted", "predicted + consistency decoding"]);
        let close = |v: Option<(f64, f64)>, mean: f64, std: f64| {
            let (m, s) = v.unwrap();
            assert!(
                (m - mean).abs() < 1e-9 && (s - std).abs() < 1e-9,
                "{m} ± {s}, expected {mean} ± {std}"
            );
        };
        close(bars[0].values[0], 5.0, 0.0);
        close(bars[1].values[0], 35.0, 50f64.sqrt());
        close(bars[2].values[0], 15.0, 50f64.sqrt());
        assert!(bars.iter().all(|b| b.values[1].is_none()), "a row without records has no bars");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
