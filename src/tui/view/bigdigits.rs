//! The current temperature in digits three rows tall, readable from across a bench.

/// Rows of each glyph, three cells wide.
fn glyph(c: char) -> [&'static str; 3] {
    match c {
        '0' => ["┏━┓", "┃ ┃", "┗━┛"],
        '1' => ["  ┓", "  ┃", "  ┻"],
        '2' => ["╺━┓", "┏━┛", "┗━╸"],
        '3' => ["╺━┓", " ━┫", "╺━┛"],
        '4' => ["╻ ╻", "┗━┫", "  ╹"],
        '5' => ["┏━╸", "┗━┓", "╺━┛"],
        '6' => ["┏━╸", "┣━┓", "┗━┛"],
        '7' => ["╺━┓", "  ┃", "  ╹"],
        '8' => ["┏━┓", "┣━┫", "┗━┛"],
        '9' => ["┏━┓", "┗━┫", "╺━┛"],
        '.' => ["   ", "   ", " • "],
        '-' => ["   ", "╺━╸", "   "],
        _ => ["   ", "   ", "   "],
    }
}

pub fn render(text: &str) -> [String; 3] {
    let mut rows = [String::new(), String::new(), String::new()];
    for c in text.chars() {
        let g = glyph(c);
        for (row, part) in rows.iter_mut().zip(g) {
            row.push_str(part);
        }
    }
    rows
}
