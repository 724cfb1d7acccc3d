//! Making text fit a width without losing what a person acts on: words wrap
//! rather than break, decoration goes before words, words are abbreviated before
//! they are dropped, and a word carrying a digit is never dropped or split.

use ratatui::text::Span;

/// Display width of a text (columns, not bytes).
pub fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// The name of a step: its first sentence (a leading "Reball:" names it alone).
pub fn step_name(text: &str) -> &str {
    let text = text.trim();
    let sentence = match text.find(". ") {
        Some(i) => &text[..i + 1],
        None => text,
    };
    let sentence = match sentence.find("; ") {
        Some(i) => &sentence[..i],
        None => sentence,
    };
    match sentence.find(": ") {
        Some(i) if i <= 24 => &sentence[..i],
        _ => sentence,
    }
}

/// Word-wraps `text` into lines of at most `max` columns. Breaks fall between
/// words; only a single word wider than the whole line is split.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        loop {
            let need = if line.is_empty() {
                width(&word)
            } else {
                width(&line) + 1 + width(&word)
            };
            if need <= max {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // One word wider than the line: split it where it must be.
            let mut head = String::new();
            let mut rest = word.chars().peekable();
            while let Some(c) = rest.peek() {
                if width(&head) + width(&c.to_string()) > max {
                    break;
                }
                head.push(*c);
                rest.next();
            }
            lines.push(head);
            word = rest.collect();
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Words as bench people write them short. Only whole words are replaced.
const SHORT: &[(&str, &str)] = &[
    ("installation", "install."),
    ("replacement", "repl."),
    ("preparation", "prep."),
    ("modification", "mod."),
    ("component", "comp."),
    ("components", "comps."),
    ("conformal", "conf."),
    ("connecting", "conn."),
    ("connected", "conn."),
    ("records", "rec."),
    ("record(s)", "rec."),
    ("record", "rec."),
    ("simulated", "sim."),
    ("and", "&"),
];

fn has_digit(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
}

/// Abbreviates known words of `text`, from the last word backwards, until it fits
/// `max`; returns the shortest form if it never does.
pub fn abbreviate(text: &str, max: usize) -> String {
    let mut words: Vec<String> = text.split(' ').map(str::to_string).collect();
    for i in (0..words.len()).rev() {
        if width(&words.join(" ")) <= max {
            break;
        }
        let w = words[i].clone();
        let find = |word: &str| {
            SHORT
                .iter()
                .find(|(long, _)| long.eq_ignore_ascii_case(word))
                .map(|(_, short)| *short)
        };
        if let Some(short) = find(&w) {
            words[i] = short.to_string();
        } else {
            let (core, tail) = split_punct(&w);
            if let Some(short) = find(core) {
                words[i] = format!("{short}{tail}");
            }
        }
    }
    words.join(" ")
}

/// "installation," -> ("installation", ",").
fn split_punct(word: &str) -> (&str, &str) {
    let end = word
        .char_indices()
        .rev()
        .take_while(|(_, c)| matches!(c, ',' | ';' | ':' | ')'))
        .last()
        .map_or(word.len(), |(i, _)| i);
    word.split_at(end)
}

/// One line of at most `max` columns saying what `text` says, or `None` when
/// that would lose a digit: asides in brackets without digits go first, then
/// known words are abbreviated, then trailing words without digits give way to "…".
pub fn shorten(text: &str, max: usize) -> Option<String> {
    if width(text) <= max {
        return Some(text.to_string());
    }
    let mut t = text.to_string();
    // Asides without digits, last first.
    while width(&t) > max {
        let Some(open) = t.rfind(" (") else { break };
        let Some(close) = t[open..].find(')').map(|c| open + c) else {
            break;
        };
        if has_digit(&t[open..close]) {
            break;
        }
        t.replace_range(open..=close, "");
    }
    let t = abbreviate(&t, max);
    if width(&t) <= max {
        return Some(t);
    }
    let mut words: Vec<&str> = t.split(' ').collect();
    while width(&format!("{}…", words.join(" "))) > max {
        let last = words.pop()?;
        if has_digit(last) || words.is_empty() {
            return None;
        }
    }
    let head = words.join(" ");
    // Never end inside an aside: "(Class 1…" would say something else.
    if head.matches('(').count() != head.matches(')').count() {
        return None;
    }
    let head = head.trim_end_matches([',', ';', ':', ' ']);
    Some(format!("{head}…"))
}

/// Column widths for a table whose last column takes what is left: every other
/// column is as wide as its widest cell (or header), so nothing in it is cut.
pub fn columns(
    headers: &[&str],
    min: &[u16],
    rows: &[Vec<String>],
    total: u16,
    gap: u16,
) -> Vec<u16> {
    let n = headers.len();
    let mut widths: Vec<u16> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            u16::try_from(width(h))
                .unwrap_or(u16::MAX)
                .max(min.get(i).copied().unwrap_or(0))
        })
        .collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            let w = c.lines().map(width).max().unwrap_or(0);
            widths[i] = widths[i].max(u16::try_from(w).unwrap_or(u16::MAX));
        }
    }
    let fixed: u16 = widths[..n - 1].iter().sum::<u16>() + gap * (n as u16 - 1);
    widths[n - 1] = total.saturating_sub(fixed).max(8);
    widths
}

/// The rows of a table with every cell word-wrapped to its column: a row is as
/// tall as its tallest cell.
pub fn wrapped_rows(rows: &[Vec<String>], widths: &[u16]) -> Vec<(Vec<String>, u16)> {
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(widths)
                .map(|(c, w)| wrap(c, *w as usize).join("\n"))
                .collect();
            let h = cells.iter().map(|c| c.lines().count()).max().unwrap_or(1);
            (cells, u16::try_from(h).unwrap_or(1).max(1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_between_words() {
        let cases: &[(&str, usize, &[&str])] = &[
            (
                "4/10 Preheat the board from below",
                19,
                &["4/10 Preheat the", "board from below"],
            ),
            (
                "Chip component rework, 0402 to 1206",
                16,
                &["Chip component", "rework, 0402 to", "1206"],
            ),
            (
                "BENCH-7-20261123-100000",
                10,
                &["BENCH-7-20", "261123-100", "000"],
            ),
            ("", 5, &[""]),
        ];
        for (text, w, want) in cases {
            assert_eq!(wrap(text, *w), *want, "{text} at {w}");
        }
    }

    #[test]
    fn shorten_keeps_digits() {
        let cases: &[(&str, usize, Option<&str>)] = &[
            (
                "Chip component rework, 0402 to 1206 (resistors, capacitors, inductors)",
                47,
                Some("Chip component rework, 0402 to 1206"),
            ),
            (
                "BGA/CSP removal, site preparation, reball (fixture) and installation",
                47,
                Some("BGA/CSP removal, site prep., reball & install."),
            ),
            (
                "Wire repair by soldered lap splice (Class 1 only)",
                47,
                None,
            ),
            (
                "Through-hole component removal (continuous vacuum) and replacement",
                40,
                Some("Through-hole component removal and repl."),
            ),
            (
                "Lifted land repair, epoxy method",
                20,
                Some("Lifted land repair…"),
            ),
        ];
        for (text, w, want) in cases {
            let got = shorten(text, *w);
            assert_eq!(got.as_deref(), *want, "{text} at {w}");
            if let Some(g) = got {
                assert!(width(&g) <= *w, "{g}");
            }
        }
    }

    #[test]
    fn step_names() {
        let cases = [
            (
                "Let the site cool below 100 °C. Flux the lands.",
                "Let the site cool below 100 °C.",
            ),
            ("Reball: dress the part's lands flat. Clean.", "Reball"),
            ("Inspect at 20x", "Inspect at 20x"),
            (
                "Fix it with adhesive; shield parts. Load.",
                "Fix it with adhesive",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(step_name(text), want);
        }
    }
}
