//! `cohort backup` and `cohort restore`: the store's portable backup written to a private
//! file (or standard output) and loaded back, with progress on standard error.

use clap::Args;
use cohort_store::Db;
use cohort_store::backup::{self, Progress};
use std::io::{BufReader, BufWriter, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct BackupArgs {
    /// Where to write the backup, `-` for standard output. A file is written as FILE.partial
    /// and renamed once complete, readable by its owner alone: it holds password hashes.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup to load, `-` for standard input, into the database `--data-dir` or
    /// `--database-url` names, which must be empty.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

const BUFFER: usize = 1 << 20;

/// `cohort backup --out FILE`.
pub async fn run_backup(db: &Db, args: &BackupArgs) -> Result<(), String> {
    let mut report = Report::new(None);
    let (summary, place) = if args.out == Path::new("-") {
        let mut out = BufWriter::with_capacity(BUFFER, std::io::stdout().lock());
        let summary = backup::backup(db, &mut out, &mut |p| report.tell(p)).await.map_err(|e| e.to_string());
        report.finish();
        (summary?, "standard output".to_string())
    } else {
        let partial = partial(&args.out);
        let mut out = BufWriter::with_capacity(BUFFER, private_file(&partial)?);
        let written = backup::backup(db, &mut out, &mut |p| report.tell(p)).await.map_err(|e| e.to_string());
        report.finish();
        // Only a complete backup takes the name; a failed one leaves nothing behind.
        let done = written.and_then(|summary| {
            let file = out.into_inner().map_err(|e| format!("writing {}: {e}", partial.display()))?;
            file.sync_all().map_err(|e| format!("writing {}: {e}", partial.display()))?;
            std::fs::rename(&partial, &args.out).map_err(|e| format!("renaming {} to {}: {e}", partial.display(), args.out.display()))?;
            Ok(summary)
        });
        if done.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        (done?, args.out.display().to_string())
    };
    eprintln!("backed up {} rows of {} tables (schema {}) to {place}", summary.rows, summary.tables, summary.schema_version);
    Ok(())
}

/// `cohort restore FILE`.
pub async fn run_restore(db: &Db, args: &RestoreArgs) -> Result<(), String> {
    let (input, size, place): (Box<dyn Read>, _, _) = if args.file == Path::new("-") {
        (Box::new(std::io::stdin()), None, "standard input".to_string())
    } else {
        let file = std::fs::File::open(&args.file).map_err(|e| format!("opening {}: {e}", args.file.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size, args.file.display().to_string())
    };
    let mut report = Report::new(size);
    let mut input = BufReader::with_capacity(BUFFER, report.reading(input));
    let restored = backup::restore(db, &mut input, &mut |p| report.tell(p)).await;
    report.finish();
    let r = restored.map_err(|e| e.to_string())?;
    let migrated = if r.migrated > 0 { format!(", then migrated to schema {}", cohort_store::migrate::latest()) } else { String::new() };
    eprintln!("restored {} rows of {} tables (schema {}{migrated}) from {place}", r.backup.rows, r.backup.tables, r.backup.schema_version);
    Ok(())
}

/// `FILE.partial`, beside `FILE`.
fn partial(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// A new or emptied file readable and writable by its owner alone.
fn private_file(path: &Path) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    // The mode above is for a new file; one left from an earlier run keeps its own.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|e| format!("securing {}: {e}", path.display()))?;
    }
    Ok(file)
}

/// Progress on standard error: at a terminal a bar (over the file's bytes, when restoring a
/// file) with the table at hand, and a line as each table ends; elsewhere (a log, a cron
/// mail) a line as each table ends and one every ten seconds within a long table.
struct Report {
    bar: Option<indicatif::ProgressBar>,
    said: Instant,
}

const EVERY: Duration = Duration::from_secs(10);

impl Report {
    fn new(bytes: Option<u64>) -> Report {
        let bar = std::io::stderr().is_terminal().then(|| {
            let (bar, template) = match bytes {
                Some(len) => (indicatif::ProgressBar::new(len), "{bar:30} {bytes}/{total_bytes} {elapsed} {msg}"),
                None => (indicatif::ProgressBar::new_spinner(), "{spinner} {elapsed} {msg}"),
            };
            bar.set_style(indicatif::ProgressStyle::with_template(template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Report { bar, said: Instant::now() }
    }

    /// The input, counted into the bar as it is read.
    fn reading(&self, input: Box<dyn Read>) -> Box<dyn Read> {
        match &self.bar {
            Some(bar) if bar.length().is_some() => Box::new(bar.wrap_read(input)),
            _ => input,
        }
    }

    fn tell(&mut self, p: Progress<'_>) {
        let line = format!("{}: {} rows", p.table, p.table_rows);
        match &self.bar {
            Some(bar) if p.table_done => bar.println(line),
            Some(bar) => bar.set_message(format!("{line} ({} in all)", p.rows)),
            // Empty tables (most of the thirty in a small site) would bury the rest.
            None if p.table_done && p.table_rows > 0 => eprintln!("{line}"),
            None if p.table_done => {}
            None if self.said.elapsed() >= EVERY => {
                eprintln!("{line} so far");
                self.said = Instant::now();
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
