//! Which store a record came from. Seqs are local to one store; the shop hub takes
//! chains from many benches, so every store gets a random id when it is created and
//! keeps the bench it was created for. Both go into the chain (the first record's
//! envelope for a new store, the migration record for an older one), into `meta`, and
//! into every backup and JSON export header.

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A store's identity: chosen once, at creation (or at migration of a store older than
/// identities), never changed. A restored store keeps the identity of its backup: it
/// is the same chain.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct StoreIdentity {
    /// A random UUID (version 4), lower-case hyphenated.
    pub store_id: String,
    /// The bench the store was created for.
    pub bench: String,
}

impl StoreIdentity {
    /// A new identity with a fresh random id.
    pub fn new(bench: impl Into<String>) -> StoreIdentity {
        StoreIdentity {
            store_id: uuid_v4(),
            bench: bench.into(),
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Two strings in a struct: encoding cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Option<StoreIdentity> {
        let id: StoreIdentity = serde_json::from_slice(b).ok()?;
        is_uuid(&id.store_id).then_some(id)
    }
}

impl std::fmt::Display for StoreIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store {} (bench {})", self.store_id, self.bench)
    }
}

/// RFC 4122 version 4: 122 random bits, version nibble 4, variant bits 10.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Whether `s` is a hyphenated UUID (any version), as stored.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The name of this computer, for a store created without a bench name.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "bench".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_4_uuids_and_differ() {
        let a = uuid_v4();
        let b = uuid_v4();
        assert_ne!(a, b);
        assert!(is_uuid(&a), "{a}");
        assert_eq!(&a[14..15], "4");
        assert!("89ab".contains(&a[19..20]), "{a}");
        assert!(!is_uuid("not-a-uuid"));
    }

    #[test]
    fn identity_round_trips_through_meta_bytes() {
        let id = StoreIdentity::new("BENCH-7");
        assert_eq!(StoreIdentity::from_bytes(&id.to_bytes()), Some(id));
        assert_eq!(
            StoreIdentity::from_bytes(br#"{"store_id":"x","bench":"b"}"#),
            None
        );
    }
}
