//! A single-line text field: enough editing for gloved hands and scanners.

use crate::domain::gs1::GS;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TextField {
    pub label: &'static str,
    pub value: String,
    /// PINs are shown as dots and never leave the field except into a verify call.
    pub masked: bool,
    /// Filled in for the person (from the board's history): the first character
    /// typed replaces it, Enter keeps it.
    pub suggested: bool,
}

impl TextField {
    pub fn new(label: &'static str) -> Self {
        TextField {
            label,
            value: String::new(),
            masked: false,
            suggested: false,
        }
    }

    pub fn masked(label: &'static str) -> Self {
        TextField {
            masked: true,
            ..TextField::new(label)
        }
    }

    pub fn with(mut self, value: &str) -> Self {
        self.value = value.to_string();
        self
    }

    /// Takes every character typed or scanned, however many: a value cut short
    /// here would be saved as if it were what was typed (a GS1 label can be long).
    pub fn push(&mut self, c: char) {
        // The group separator is kept: it ends variable-length GS1 fields.
        if !c.is_control() || c == GS {
            if std::mem::take(&mut self.suggested) {
                self.value.clear();
            }
            self.value.push(c);
        }
    }

    pub fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            self.push(c);
        }
    }

    pub fn backspace(&mut self) {
        self.suggested = false;
        self.value.pop();
    }

    pub fn clear(&mut self) {
        self.suggested = false;
        self.value.clear();
    }

    pub fn trimmed(&self) -> &str {
        self.value.trim()
    }

    /// What the screen shows: dots for a PIN, a visible mark for a GS separator.
    pub fn display(&self) -> String {
        if self.masked {
            "•".repeat(self.value.chars().count())
        } else {
            self.value.replace(GS, "␝")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_and_masking() {
        let mut f = TextField::masked("PIN");
        f.push_str("12\n34");
        assert_eq!(f.value, "1234");
        assert_eq!(f.display(), "••••");
        f.backspace();
        assert_eq!(f.value, "123");
        let mut lot = TextField::new("Lot");
        lot.push_str("0109506000134352");
        lot.push(GS);
        assert!(lot.display().ends_with('␝'));
    }

    #[test]
    fn long_input_is_kept_whole() {
        let long: String = (0..300)
            .map(|i| char::from(b'A' + (i % 26) as u8))
            .collect();
        let mut lot = TextField::new("Lot");
        lot.push_str(&long);
        assert_eq!(lot.value, long);
        let mut pin = TextField::masked("PIN");
        pin.push_str(&"7".repeat(40));
        assert_eq!(pin.value.len(), 40);
    }
}
