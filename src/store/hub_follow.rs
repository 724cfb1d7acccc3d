//! What a bench follows of the shop hub, read from the hub records mirrored into
//! its chain (`Event::HubRecordMirrored`; their hub hash was checked when they were
//! appended): the shop policy here, the releases in `archive`.

use crate::domain::event::{Event, Record};
use crate::domain::release::HubRef;
use crate::domain::shop_policy::ShopPolicy;

use super::Store;
use super::error::Result;

/// The hub record a mirror record holds, and which hub record it is.
pub(crate) fn mirrored(r: &Record) -> Option<(HubRef, Record)> {
    let Event::HubRecordMirrored {
        hub_seq, hub_hash, ..
    } = &r.event
    else {
        return None;
    };
    let inner = super::wire::decode_mirrored(&r.event)?;
    Some((
        HubRef {
            seq: *hub_seq,
            hash: hub_hash.clone(),
        },
        inner,
    ))
}

impl Store {
    /// The shop policy as the hub last set it, as far as this chain has mirrored
    /// (the default, local reviews allowed, when it never has).
    pub fn shop_policy(&self) -> Result<ShopPolicy> {
        let mut p = ShopPolicy::default();
        for r in self.people_events() {
            let r = r?;
            if let Some((hub, inner)) = mirrored(&r) {
                p.push(hub, &inner);
            }
        }
        Ok(p)
    }
}
