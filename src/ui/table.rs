//! Tables (status's BOT, VERDICT, WHERE IT RUNS) through comfy-table.

use comfy_table::{ContentArrangement, Table, presets};

/// A borderless, aligned table; wrapped to the terminal's width, never wrapped on a pipe.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    if super::stdout_is_terminal() {
        let width = console::Term::stdout().size().1;
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_width(width.max(60));
    }
    t.set_header(header.iter().map(|h| super::heading(h)).collect::<Vec<_>>());
    for row in rows {
        t.add_row(
            row.iter()
                .map(|cell| super::clean(cell))
                .collect::<Vec<_>>(),
        );
    }
    // comfy-table pads with a leading space: trim it so output starts at column 0.
    t.to_string()
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
