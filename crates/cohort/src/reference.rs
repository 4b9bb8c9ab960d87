//! The command-line reference in Markdown, written from the clap definitions themselves
//! (`cohort reference`, hidden): `docs/cli.md` is this output, and a test holds the file
//! to it, so the documented flags cannot drift from the binary's.

use clap::Command;
use std::fmt::Write;

/// Every command (depth first) with its flags: name, variable, default, help.
pub fn markdown(mut root: Command) -> String {
    // Built, the arguments know how many values they take and what they are called.
    root.build();
    let root = &root;
    let mut out = String::from(
        "# Command-line reference\n\n\
         Generated from the binary (`cohort reference > docs/cli.md`); a test fails when this file \
         and the binary disagree. Every flag may also be set by the environment variable named \
         beside it. The global flags may be given with any command.\n",
    );
    let globals: Vec<&clap::Arg> = root.get_arguments().filter(|a| a.is_global_set()).collect();
    let _ = writeln!(out, "\n## Global flags\n");
    table(&mut out, globals.iter().copied());
    command(&mut out, root, "cohort");
    out
}

fn command(out: &mut String, cmd: &Command, path: &str) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{path} {}", sub.get_name());
        let _ = writeln!(out, "\n## `{name}`\n");
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            let _ = writeln!(out, "{about}\n");
        }
        let own: Vec<&clap::Arg> = sub.get_arguments().filter(|a| !a.is_global_set() && !a.is_hide_set()).collect();
        if !own.is_empty() {
            table(out, own.into_iter());
        }
        command(out, sub, &name);
    }
}

fn table<'a>(out: &mut String, args: impl Iterator<Item = &'a clap::Arg>) {
    out.push_str("| flag | environment | default | what it does |\n| --- | --- | --- | --- |\n");
    for a in args {
        if matches!(a.get_id().as_str(), "help" | "version") {
            continue;
        }
        let flag = match (a.get_long(), a.get_value_names()) {
            (Some(long), Some(names)) if a.get_num_args().is_some_and(|n| n.takes_values()) => {
                format!("`--{long} {}`", names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(" "))
            }
            (Some(long), _) if a.get_num_args().is_some_and(|n| n.takes_values()) => {
                format!("`--{long} {}`", a.get_id().as_str().to_uppercase())
            }
            (Some(long), _) => format!("`--{long}`"),
            (None, _) => format!("`{}`", a.get_id().as_str().to_uppercase()),
        };
        let env = a.get_env().map(|e| format!("`{}`", e.to_string_lossy())).unwrap_or_default();
        let defaults: Vec<String> = a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
        let default = if defaults.is_empty() { String::new() } else { format!("`{}`", defaults.join(",")) };
        let mut help = a.get_long_help().or(a.get_help()).map(|h| h.to_string().replace('\n', " ")).unwrap_or_default();
        let choices: Vec<String> =
            a.get_possible_values().iter().filter(|v| !v.is_hide_set()).map(|v| format!("`{}`", v.get_name())).collect();
        if !choices.is_empty() && a.get_action().takes_values() {
            let _ = write!(help, " (one of {})", choices.join(", "));
        }
        let _ = writeln!(out, "| {flag} | {env} | {default} | {} |", help.replace('|', "\\|"));
    }
}
