//! Which store a chain belongs to, as the hub knows it.

use crate::store::{Store, StoreError};

/// A store's identity: a UUID of its own and the bench it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreIdentity {
    pub store_id: String,
    pub bench: String,
}

/// The identity the store carries (`None` while the store cannot name one). One
/// function, so the sync task, the tests and the command line agree on where it
/// comes from.
///
/// Until the store keeps an identity of its own, the id is derived from the hash of
/// its first record: stable, the same after a restore, and different for every store
/// whose first record differs (each holds its own time and actor).
pub fn of(store: &Store) -> Result<Option<StoreIdentity>, StoreError> {
    let Some(first) = store.stored_record(1)? else {
        return Ok(None);
    };
    Ok(Some(StoreIdentity {
        store_id: uuid_of(&first.hash),
        bench: String::new(),
    }))
}

/// A version-4-shaped UUID made from the first 16 bytes of `hash`.
fn uuid_of(hash: &[u8; 32]) -> String {
    let mut b: [u8; 16] = hash[..16].try_into().unwrap_or_default();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid_shape() {
        let u = super::uuid_of(&[0xab; 32]);
        assert_eq!(u, "abababab-abab-4bab-abab-abababababab");
    }
}
