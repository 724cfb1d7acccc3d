//! `traveler migrate`: converts a store of an older format in place.

use super::OpenOptions;
use super::identity::{self, StoreIdentity};

/// The identity a store of an older format gets when it is migrated: the one a
/// half-finished migration already chose, else a new one.
pub(crate) fn pending_identity(meta: &sled::Tree, options: &OpenOptions) -> StoreIdentity {
    meta.get(super::META_IDENTITY)
        .ok()
        .flatten()
        .and_then(|b| StoreIdentity::from_bytes(&b))
        .unwrap_or_else(|| {
            StoreIdentity::new(options.bench.clone().unwrap_or_else(identity::host_name))
        })
}
