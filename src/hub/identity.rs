//! Which store a chain belongs to, as the hub knows it.

use crate::store::{Store, StoreError};

pub use crate::store::StoreIdentity;

/// The identity the store carries (its random id and the bench it was created for).
/// One function, so the sync task, the tests and the command line agree on where it
/// comes from.
pub fn of(store: &Store) -> Result<Option<StoreIdentity>, StoreError> {
    Ok(Some(store.identity().clone()))
}
