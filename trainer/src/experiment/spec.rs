//! An experiment spec (`experiments/NAME.toml`) and its grid of cells, each named by its
//! configuration.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;

/// The grid axis naming the shards (a folder under the shards root).
pub const DATASET: &str = "dataset";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub description: String,
    /// Evaluate each cell with consistency decoding as well (`eval --consistency`).
    #[serde(default)]
    pub consistency: bool,
    /// The split the tables report.
    #[serde(default = "test_split")]
    pub split: String,
    /// TrainConfig fields every cell shares.
    #[serde(default)]
    pub base: toml::Table,
    /// What each row is tested against: the row with these fields changed
    /// (e.g. `{ variant = "baseline" }`), same dataset; none when absent.
    #[serde(default)]
    pub reference: Option<toml::Table>,
    /// Grids, each axis with its values: `dataset` and TrainConfig fields.
    pub grid: Vec<BTreeMap<String, Vec<toml::Value>>>,
    /// The folder name of this spec's runs and records (`runs/F`, `results/F`) when its cells
    /// must not share records with the other specs' (which share `experiments`), e.g. every seed
    /// trained again by the current code; [`crate::experiment::Layout::folders`].
    #[serde(default)]
    pub records: Option<String>,
}

fn test_split() -> String {
    "test".into()
}

/// One run of the grid.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// Folder name: `DATASET-VARIANT-HASH-seed-N` ([`cell_name`]).
    pub name: String,
    pub dataset: String,
    pub config: TrainConfig,
}

/// Where a cell stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Its records hold the evaluation.
    Finished,
    /// A run folder with this many complete epochs (0: started, none finished).
    Partial(usize),
    NotStarted,
}

impl Spec {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let spec: Spec =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        anyhow::ensure!(!spec.grid.is_empty(), "{}: no [[grid]]", path.display());
        if let Some(folder) = &spec.records {
            // One folder name: runs/F and results/F stay under runs/ and results/.
            let mut parts = Path::new(folder).components();
            anyhow::ensure!(
                matches!(
                    (parts.next(), parts.next()),
                    (Some(std::path::Component::Normal(_)), None)
                ),
                "{}: records = {folder:?} is not one folder name (runs/F, results/F)",
                path.display()
            );
        }
        for (i, grid) in spec.grid.iter().enumerate() {
            anyhow::ensure!(
                grid.get(DATASET).is_some_and(|d| !d.is_empty()),
                "{}: grid {} needs a `dataset` axis",
                path.display(),
                i + 1
            );
            if let Some((axis, _)) = grid.iter().find(|(_, values)| values.is_empty()) {
                anyhow::bail!("{}: grid {}: axis {axis} has no values", path.display(), i + 1);
            }
        }
        Ok(spec)
    }

    /// Every cell once, seed-major; a value that is not a valid TrainConfig
    /// field value is an error naming the axis.
    pub fn cells(&self) -> anyhow::Result<Vec<Cell>> {
        let mut keyed = Vec::new();
        for (g, grid) in self.grid.iter().enumerate() {
            let seeds = grid
                .get("seed")
                .cloned()
                .unwrap_or_else(|| vec![toml::Value::Integer(TrainConfig::default().seed as i64)]);
            let mut combos: Vec<Vec<(&String, &toml::Value)>> = vec![Vec::new()];
            for (axis, values) in grid.iter().filter(|(k, _)| k.as_str() != "seed") {
                combos = combos
                    .into_iter()
                    .flat_map(|c| values.iter().map(move |v| [c.clone(), vec![(axis, v)]].concat()))
                    .collect();
            }
            for (si, seed) in seeds.iter().enumerate() {
                for (ci, combo) in combos.iter().enumerate() {
                    let mut table = self.base.clone();
                    let mut dataset = None;
                    for (axis, value) in combo {
                        if axis.as_str() == DATASET {
                            dataset = Some(
                                value
                                    .as_str()
                                    .with_context(|| format!("dataset {value} is not a name"))?
                                    .to_string(),
                            );
                        } else {
                            table.insert((*axis).clone(), (*value).clone());
                        }
                    }
                    table.insert("seed".into(), seed.clone());
                    let dataset = dataset.context("a cell without a dataset")?;
                    let config: TrainConfig = toml::Value::Table(table.clone())
                        .try_into()
                        .with_context(|| format!("grid {}, cell {dataset} {table}", g + 1))?;
                    keyed.push((
                        (si, g, ci),
                        Cell { name: cell_name(&dataset, &config)?, dataset, config },
                    ));
                }
            }
        }
        keyed.sort_by_key(|(k, _)| *k);
        let mut seen = std::collections::HashSet::new();
        Ok(keyed.into_iter().map(|(_, c)| c).filter(|c| seen.insert(c.name.clone())).collect())
    }
}

impl Cell {
    /// Whether the cell has `key` = `value` (`dataset` or a TrainConfig
    /// field; strings compared without quotes), for `--where`.
    pub fn matches(&self, key: &str, value: &str) -> anyhow::Result<bool> {
        if key == DATASET {
            return Ok(self.dataset == value);
        }
        let config = serde_json::to_value(&self.config)?;
        let field = config.get(key).with_context(|| {
            format!("--where {key}: not `dataset` or a training configuration field")
        })?;
        // `16`, `0.5` and `true` as JSON; a name such as `document` as a string.
        let wanted = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        Ok(*field == wanted)
    }
}

/// `DATASET-VARIANT-HASH-seed-N`: HASH is the first 8 hex digits of the
/// SHA-256 of the configuration's fields that differ from
/// [`TrainConfig::default`] (seed excluded), so a field added later with a
/// default keeps every name.
pub fn cell_name(dataset: &str, config: &TrainConfig) -> anyhow::Result<String> {
    use sha2::Digest;
    let (value, default) =
        (serde_json::to_value(config)?, serde_json::to_value(TrainConfig::default())?);
    let differs: BTreeMap<&String, &serde_json::Value> = value
        .as_object()
        .context("a configuration is an object")?
        .iter()
        .filter(|(k, v)| k.as_str() != "seed" && default.get(k.as_str()) != Some(v))
        .collect();
    let hash = sha2::Sha256::digest(serde_json::to_string(&differs)?.as_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{dataset}-{}-{hex}-seed-{}",
        serde_json::to_value(config.model.variant)?.as_str().unwrap_or("variant"),
        config.seed
    ))
}
