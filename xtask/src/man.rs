//! `cargo xtask man [--out DIR]`: botctl.1 and one page per subcommand (botctl-status.1, …),
//! rendered by clap_mangen from botctl's own clap definition.

use std::path::Path;

use clap::CommandFactory;

use crate::{Error, Result};

pub fn run(root: &Path, out: std::path::PathBuf) -> Result<()> {
    std::fs::create_dir_all(&out)
        .map_err(|e| Error::io(format!("cannot create {}", out.display()), e))?;
    remove_old_pages(&out)?;
    clap_mangen::generate_to(botctl::cli::Cli::command(), &out)
        .map_err(|e| Error::io(format!("cannot write man pages into {}", out.display()), e))?;
    let pages = pages_in(&out)?;
    println!(
        "xtask man: wrote {} pages into {}:",
        pages.len(),
        out.display()
    );
    for page in &pages {
        println!("  {page}");
    }
    println!("Install them with:");
    println!(
        "  sudo install -m644 {}/*.1 /usr/local/share/man/man1/",
        shown_dir(root, &out)
    );
    println!(
        "Read one without installing: man {}/botctl.1",
        shown_dir(root, &out)
    );
    Ok(())
}

/// Pages of subcommands that no longer exist must not linger.
fn remove_old_pages(out: &Path) -> Result<()> {
    for page in pages_in(out)? {
        let path = out.join(&page);
        std::fs::remove_file(&path)
            .map_err(|e| Error::io(format!("cannot remove {}", path.display()), e))?;
    }
    Ok(())
}

fn pages_in(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
    let mut pages: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| (name == "botctl.1" || name.starts_with("botctl-")) && name.ends_with(".1"))
        .collect();
    pages.sort();
    Ok(pages)
}

/// `target/man` rather than `/work/…/target/man` when it is inside the workspace.
fn shown_dir(root: &Path, dir: &Path) -> String {
    dir.strip_prefix(root).unwrap_or(dir).display().to_string()
}
