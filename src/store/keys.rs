//! Composite keys. Strings are length-prefixed (u32 BE) rather than separated, so no
//! badge, serial or lot text can forge a boundary, and a prefix scan over one encoded
//! component finds exactly its entries. Numbers are big-endian so byte order is
//! numeric order.

use chrono::{Datelike, NaiveDate};

pub(crate) fn push_str(key: &mut Vec<u8>, s: &str) {
    key.extend_from_slice(&(s.len() as u32).to_be_bytes());
    key.extend_from_slice(s.as_bytes());
}

pub(crate) fn str_key(s: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + s.len());
    push_str(&mut k, s);
    k
}

/// (a, b) as one key: both length-prefixed.
#[cfg(test)]
pub(crate) fn pair_key(a: &str, b: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + a.len() + b.len());
    push_str(&mut k, a);
    push_str(&mut k, b);
    k
}

/// Splits one length-prefixed string off the front; `None` on malformed bytes.
pub(crate) fn take_str(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let len_bytes: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let body = bytes.get(4..4usize.checked_add(len)?)?;
    let s = std::str::from_utf8(body).ok()?;
    Some((s, &bytes[4 + len..]))
}

pub(crate) fn take_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let b: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some((u32::from_be_bytes(b), &bytes[4..]))
}

pub(crate) fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

pub(crate) fn seq_of(key: &[u8]) -> Option<u64> {
    let b: [u8; 8] = key.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// Signed values flip the sign bit so that negative numbers sort first.
pub(crate) fn i64_key(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

pub(crate) fn i64_of(b: [u8; 8]) -> i64 {
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}

pub(crate) fn day_key(day: NaiveDate) -> [u8; 4] {
    ((day.num_days_from_ce() as u32) ^ (1 << 31)).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_and_do_not_bleed() {
        let k = pair_key("AB", "C");
        let (a, rest) = take_str(&k).unwrap();
        let (b, rest) = take_str(rest).unwrap();
        assert_eq!((a, b, rest.len()), ("AB", "C", 0));
        // "A" is a byte prefix of "AB" but its encoded key is not a prefix of AB's.
        assert!(!k.starts_with(&str_key("A")));
        assert!(take_str(&[0, 0, 0, 9, b'x']).is_none());
    }

    #[test]
    fn signed_and_day_keys_sort_numerically() {
        assert!(i64_key(-5) < i64_key(3));
        assert_eq!(i64_of(i64_key(-1234)), -1234);
        let d1 = NaiveDate::from_ymd_opt(2023, 12, 31).unwrap();
        let d2 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert!(day_key(d1) < day_key(d2));
    }
}
