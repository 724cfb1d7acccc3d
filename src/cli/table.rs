//! Every table the command line prints, drawn one way: a header, a rule under it,
//! columns as wide as their widest cell (so a long job id never pushes a row out of
//! line), numbers right-aligned. On a terminal, cells wrap to fit its width; into a
//! pipe or a file each row stays on one line, for grep.

use std::io::{self, IsTerminal, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, TableStyle, presets};

/// A table being filled: header, alignment, rows.
pub struct CliTable {
    table: Table,
}

impl CliTable {
    /// A table with these column headings.
    pub fn new(header: &[&str]) -> CliTable {
        let mut table = Table::new();
        table
            .load_style(style())
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(header.to_vec());
        let last = header.len().saturating_sub(1);
        for (i, c) in table.column_iter_mut().enumerate() {
            // Two spaces between columns (one of padding, one where a border would
            // be), none at the edges.
            c.set_padding((0, if i == last { 0 } else { 1 }));
        }
        CliTable { table }
    }

    /// Right-aligns the columns at these indexes (counts, step numbers).
    pub fn right(mut self, columns: &[usize]) -> CliTable {
        for &i in columns {
            if let Some(c) = self.table.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        self
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.table
            .add_row(cells.into_iter().map(Into::into).collect::<Vec<String>>());
        self
    }

    /// The table as text of at most `width` columns (`None`: no limit), without
    /// trailing spaces, ending in a newline.
    pub fn render(&self, width: Option<u16>) -> String {
        let mut table = self.table.clone();
        if let Some(w) = width {
            table.set_width(w);
        } else {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
        let mut s = table.trim_fmt();
        s.push('\n');
        s
    }

    /// Writes the table to `out`, fitted to the terminal when standard output is one.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_width(out, terminal_width())
    }

    /// Writes the table fitted to `width` columns (`None`: one line per row): for
    /// output that goes to another process's terminal (the bench application
    /// answering the command line, see `crate::local`).
    pub fn write_width(&self, out: &mut dyn Write, width: Option<u16>) -> io::Result<()> {
        out.write_all(self.render(width).as_bytes())
    }
}

/// Builds and writes a table in one call: what most commands need.
pub fn write(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut t = CliTable::new(header);
    for r in rows {
        t.row(r.iter().cloned());
    }
    t.write(out)
}

/// `write` fitted to `width` (see `CliTable::write_width`).
pub fn write_width(
    out: &mut dyn Write,
    width: Option<u16>,
    header: &[&str],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let mut t = CliTable::new(header);
    for r in rows {
        t.row(r.iter().cloned());
    }
    t.write_width(out, width)
}

fn style() -> TableStyle {
    let mut s = presets::NOTHING;
    s = s.header_separator(comfy_table::LineStyle::none().fill('─').junction('─'));
    s
}

/// The width tables are fitted to: this process's terminal when standard output is
/// one, else none.
pub fn terminal_width() -> Option<u16> {
    if !io::stdout().is_terminal() {
        return None;
    }
    crossterm::terminal::size().ok().map(|(w, _)| w.max(40))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_whatever_the_cell_widths() {
        let mut t = CliTable::new(&["job", "step", "status"]).right(&[1]);
        t.row(["J-2026-12-01-0001-BENCH-02", "3", "approved"]);
        t.row(["J1", "12", "in_progress"]);
        let text = t.render(None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[1].chars().all(|c| c == '─'), "{text}");
        // Every row's columns start where the header's do.
        let status_at = lines[0].find("status").unwrap();
        for l in [lines[2], lines[3]] {
            let col: String = l.chars().skip(status_at).collect();
            assert!(col == "approved" || col == "in_progress", "{text}");
        }
        // Numbers are right-aligned: the units line up.
        let step_end = lines[0].find("step").unwrap() + "step".len();
        assert_eq!(lines[2].chars().nth(step_end - 1), Some('3'), "{text}");
        assert_eq!(lines[3].chars().nth(step_end - 1), Some('2'), "{text}");
        assert!(
            text.lines().all(|l| l == l.trim_end()),
            "no trailing spaces"
        );
    }

    #[test]
    fn on_a_narrow_terminal_cells_wrap_and_nothing_is_cut() {
        let mut t = CliTable::new(&["job", "procedures"]);
        t.row([
            "J-1",
            "IPC-7711 3.1.1 Through-hole removal; IPC-7711 5.1 Surface mount",
        ]);
        let text = t.render(Some(40));
        assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
        let words: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for w in ["Through-hole", "removal;", "Surface", "mount"] {
            assert!(words.contains(w), "{w} missing: {text}");
        }
    }
}
