//! `cohort import` and `cohort export`: the records of [`cohort_app::transfer`] as JSON Lines
//! (one object a line, its `kind` first) or CSV (one file per kind, a header row naming the
//! same fields; a list such as `permissions` is `;`-separated).

use clap::{Args, ValueEnum};
use cohort_app::App;
use cohort_app::transfer::{Record, Report};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object a line, every kind in one file.
    Jsonl,
    /// One CSV file per kind, with a header row.
    Csv,
}

/// The kinds of record, in the order an import needs them (what a row names comes first).
const KINDS: [&str; 6] = ["space", "user", "group", "role", "membership", "grant"];

/// The CSV columns of each kind: the fields of its record.
fn columns(kind: &str) -> &'static [&'static str] {
    match kind {
        "space" => &["name", "description"],
        "user" => &["external_id", "username", "email", "full_name", "active", "site_role"],
        "group" => &["external_id", "space", "name", "description", "parent", "visibility", "permissions"],
        "role" => &["group", "space", "name", "permissions", "description"],
        "membership" => &["group", "space", "user", "role"],
        _ => &["user", "collection", "access", "space"],
    }
}

/// The CSV file of a kind: `users.csv`, `memberships.csv`, …
fn file_of(kind: &str) -> String {
    format!("{kind}s.csv")
}

#[derive(Args)]
pub struct ExportArgs {
    /// Where to write: a file for `jsonl` (`-` for standard output), a directory for `csv`
    /// (one file per kind).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
}

#[derive(Args)]
pub struct ImportArgs {
    /// JSON Lines files, CSV files (named for their kind: `users.csv`, `groups.csv`, …, or
    /// given `--kind`), or directories of CSV files (taken in the order spaces, users,
    /// groups, roles, memberships, grants).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The kind of every row of the CSV files given (else read from each file's name).
    #[arg(long, value_parser = KINDS)]
    kind: Option<String>,
    /// Stop at the first refused row (rows before it stay imported); without it every
    /// refused row is reported and the rest imported.
    #[arg(long)]
    stop_on_error: bool,
}

/// `cohort export`.
pub async fn export(app: &App, args: &ExportArgs) -> Result<(), String> {
    let started = std::time::Instant::now();
    let count = match args.format {
        Format::Jsonl => {
            let to_stdout = args.out.as_os_str() == "-";
            let mut out: Box<dyn Write> = if to_stdout {
                Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
            } else {
                Box::new(std::io::BufWriter::new(private_file(&args.out)?))
            };
            let count = app
                .export(|r| {
                    serde_json::to_writer(&mut out, &r).map_err(|e| e.to_string())?;
                    out.write_all(b"\n").map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| e.to_string())?;
            out.flush().map_err(|e| format!("writing {}: {e}", args.out.display()))?;
            count
        }
        Format::Csv => {
            std::fs::create_dir_all(&args.out).map_err(|e| format!("creating {}: {e}", args.out.display()))?;
            let mut writers = std::collections::HashMap::new();
            for kind in KINDS {
                let path = args.out.join(file_of(kind));
                let mut w = csv::Writer::from_writer(private_file(&path)?);
                w.write_record(columns(kind)).map_err(|e| format!("writing {}: {e}", path.display()))?;
                writers.insert(kind, w);
            }
            let count = app
                .export(|r| {
                    let (kind, fields) = flatten(&r)?;
                    let w = writers.get_mut(kind.as_str()).ok_or("no such kind")?;
                    let row: Vec<String> = columns(&kind).iter().map(|c| fields.get(*c).cloned().unwrap_or_default()).collect();
                    w.write_record(&row).map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| e.to_string())?;
            for (_, mut w) in writers {
                w.flush().map_err(|e| e.to_string())?;
            }
            count
        }
    };
    eprintln!("exported {count} records to {} in {:.1} s", args.out.display(), started.elapsed().as_secs_f64());
    Ok(())
}

/// A new file only its owner reads: an export names every user.
fn private_file(path: &Path) -> Result<std::fs::File, String> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    open.open(path).map_err(|e| format!("creating {}: {e}", path.display()))
}

/// A record as its kind and its fields as CSV cells.
fn flatten(r: &Record) -> Result<(String, std::collections::HashMap<String, String>), String> {
    let serde_json::Value::Object(mut fields) = serde_json::to_value(r).map_err(|e| e.to_string())? else {
        return Err("a record is an object".into());
    };
    let kind = fields.remove("kind").and_then(|k| k.as_str().map(str::to_string)).unwrap_or_default();
    let cells = fields
        .into_iter()
        .map(|(k, v)| {
            let cell = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_str()).collect::<Vec<_>>().join(";"),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, cell)
        })
        .collect();
    Ok((kind, cells))
}

/// A CSV row (`header` → cell) as the record of `kind`: empty cells are absent, lists split
/// at `;`, `active` a boolean.
fn unflatten(kind: &str, header: &csv::StringRecord, row: &csv::StringRecord) -> Result<Record, String> {
    let mut fields = serde_json::Map::new();
    fields.insert("kind".into(), kind.into());
    for (name, cell) in header.iter().zip(row.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = match name {
            "permissions" => cell.split(';').map(str::trim).filter(|p| !p.is_empty()).map(serde_json::Value::from).collect(),
            "active" => match cell.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true.into(),
                "false" | "0" | "no" => false.into(),
                _ => return Err(format!("active: {cell:?} is not true or false")),
            },
            _ => cell.into(),
        };
        fields.insert(name.to_string(), value);
    }
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| e.to_string())
}

/// Where rows come from, and how far through them the import is.
struct Progress {
    bar: indicatif::ProgressBar,
    terminal: bool,
    last_line: std::time::Instant,
}

impl Progress {
    fn new(total_bytes: u64) -> Progress {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = if terminal { indicatif::ProgressBar::new(total_bytes) } else { indicatif::ProgressBar::hidden() };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Progress { bar, terminal, last_line: std::time::Instant::now() }
    }

    /// The bar on a terminal; otherwise a line every 5 s.
    fn show(&mut self, bytes: u64, report: &Report) {
        self.bar.set_position(bytes);
        if self.terminal {
            self.bar.set_message(format!("{} rows", report.rows()));
        } else if self.last_line.elapsed() >= std::time::Duration::from_secs(5) {
            self.last_line = std::time::Instant::now();
            eprintln!("{}", summary(report));
        }
    }
}

fn summary(r: &Report) -> String {
    format!("{} rows: {} made, {} changed, {} unchanged, {} refused", r.rows(), r.made, r.changed, r.unchanged, r.failed.len())
}

/// `cohort import`: every file in turn, rows in order; refused rows are said with their file
/// and line. Fails when any row was refused.
pub async fn import(app: &App, args: &ImportArgs) -> Result<(), String> {
    let mut files = Vec::new();
    for f in &args.files {
        if f.is_dir() {
            for kind in KINDS {
                let path = f.join(file_of(kind));
                if path.exists() {
                    files.push((path, Some(kind.to_string())));
                }
            }
        } else {
            files.push((f.clone(), args.kind.clone()));
        }
    }
    let total: u64 = files.iter().filter_map(|(f, _)| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let mut progress = Progress::new(total);
    let mut importer = app.importer().await.map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let mut done_bytes = 0u64;
    let mut reported = 0;
    let mut stopped = false;
    'files: for (path, kind) in &files {
        let file = std::fs::File::open(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let is_csv = kind.is_some() || path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let mut rows: Box<dyn Iterator<Item = (u64, u64, Result<Record, String>)>> = if is_csv {
            let kind = match kind {
                Some(k) => k.clone(),
                None => kind_of(path)?,
            };
            Box::new(csv_rows(file, kind))
        } else {
            Box::new(jsonl_rows(file))
        };
        for (line, bytes, row) in &mut rows {
            match row {
                Ok(record) => importer.push(line, record).await.map_err(|e| format!("{}:{line}: {e}", path.display()))?,
                Err(why) => importer.report.failed.push((line, why)),
            }
            for (line, why) in &importer.report.failed[reported..] {
                progress.bar.suspend(|| eprintln!("{}:{line}: {why}", path.display()));
            }
            reported = importer.report.failed.len();
            progress.show(done_bytes + bytes, &importer.report);
            if args.stop_on_error && reported > 0 {
                stopped = true;
                break 'files;
            }
        }
        // Rows still waiting for their group's batch are this file's.
        importer.flush().await.map_err(|e| format!("{}: {e}", path.display()))?;
        for (line, why) in &importer.report.failed[reported..] {
            progress.bar.suspend(|| eprintln!("{}:{line}: {why}", path.display()));
        }
        reported = importer.report.failed.len();
        done_bytes += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if args.stop_on_error && reported > 0 {
            stopped = true;
            break;
        }
    }
    let report = importer.finish().await.map_err(|e| e.to_string())?;
    progress.bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("{} in {seconds:.1} s{}", summary(&report), if report.made + report.changed == 0 { " (nothing to change)" } else { "" });
    match (report.failed.len(), stopped) {
        (0, _) => Ok(()),
        (n, true) => Err(format!("stopped at the first refused row ({n} refused)")),
        (n, false) => Err(format!("{n} rows were refused")),
    }
}

/// A CSV file's kind from its name: `users.csv` → `user`.
fn kind_of(path: &Path) -> Result<String, String> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_ascii_lowercase();
    KINDS
        .iter()
        .find(|k| stem == **k || stem == format!("{k}s"))
        .map(|k| k.to_string())
        .ok_or_else(|| format!("{}: name a CSV file for its kind ({}) or give --kind", path.display(), KINDS.map(file_of).join(", ")))
}

/// `(line, bytes read, record)` of each non-blank line.
fn jsonl_rows(file: std::fs::File) -> impl Iterator<Item = (u64, u64, Result<Record, String>)> {
    let mut reader = std::io::BufReader::new(file);
    let mut line_no = 0u64;
    let mut bytes = 0u64;
    std::iter::from_fn(move || {
        loop {
            let mut text = String::new();
            match reader.read_line(&mut text) {
                Ok(0) => return None,
                Ok(n) => {
                    line_no += 1;
                    bytes += n as u64;
                    if text.trim().is_empty() {
                        continue;
                    }
                    return Some((line_no, bytes, serde_json::from_str::<Record>(&text).map_err(|e| e.to_string())));
                }
                Err(e) => {
                    line_no += 1;
                    return Some((line_no, bytes, Err(format!("reading: {e}"))));
                }
            }
        }
    })
}

/// `(line, bytes read, record)` of each CSV row after the header.
fn csv_rows(file: std::fs::File, kind: String) -> impl Iterator<Item = (u64, u64, Result<Record, String>)> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
    let header = reader.headers().cloned();
    let mut rows = reader.into_records();
    let mut failed_header = false;
    std::iter::from_fn(move || {
        let header = match &header {
            Ok(h) => h,
            Err(e) if !failed_header => {
                failed_header = true;
                return Some((1, 0, Err(format!("reading the header: {e}"))));
            }
            Err(_) => return None,
        };
        let row = rows.next()?;
        Some(match row {
            Ok(r) => {
                let (line, bytes) = r.position().map_or((0, 0), |p| (p.line(), p.byte()));
                (line, bytes, unflatten(&kind, header, &r))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                (line, 0, Err(e.to_string()))
            }
        })
    })
}
