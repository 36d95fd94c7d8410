//! Promises: the ledger of what the team said it would do, and the agents' confirm or
//! dismiss of a proposed one (the rules: `earshot_core::feedback::Promise`).

use super::{Desk, DeskError};
use chrono::{NaiveDate, Utc};
use earshot_core::feedback::{Promise, PromiseId, PromiseState, ReleaseVersion, RequestId};
use earshot_store::StoreError;
use serde::Serialize;

/// A promise as the ledger lists it.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerEntry {
    #[serde(flatten)]
    pub promise: Promise,
    pub overdue: bool,
}

/// What an agent says when confirming a proposed promise.
#[derive(Debug, Clone, Default)]
pub struct Confirmation {
    pub due_on: Option<NaiveDate>,
    pub target_release: Option<ReleaseVersion>,
    /// The request it is about, when the reading of the reply did not find it.
    pub request: Option<RequestId>,
}

/// The promises service (see [`Desk::promises`]).
pub struct Promises<'a> {
    desk: &'a Desk,
}

impl Desk {
    /// Promises: the ledger, confirm and dismiss.
    pub fn promises(&self) -> Promises<'_> {
        Promises { desk: self }
    }
}

impl Promises<'_> {
    /// The ledger, `state` filtered, each marked overdue or not as of today.
    pub async fn ledger(&self, state: Option<PromiseState>) -> Result<Vec<LedgerEntry>, DeskError> {
        let today = Utc::now().date_naive();
        let promises = self.desk.store().promises(state).await?;
        Ok(promises
            .into_iter()
            .map(|p| LedgerEntry {
                overdue: p.is_overdue(today),
                promise: p,
            })
            .collect())
    }

    async fn change(
        &self,
        id: PromiseId,
        who: &str,
        rule: impl FnOnce(&mut Promise) -> Result<(), earshot_core::feedback::PromiseTransitionError>,
    ) -> Result<Promise, DeskError> {
        let store = self.desk.store();
        let mut promise = store
            .promise(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("promise {id}")))?;
        rule(&mut promise).map_err(|e| DeskError::Refused(e.to_string()))?;
        store.save_promise(&promise, who).await?;
        Ok(promise)
    }

    /// Confirms a proposed promise with a due date or a target release.
    pub async fn confirm(
        &self,
        id: PromiseId,
        who: &str,
        c: Confirmation,
    ) -> Result<Promise, DeskError> {
        self.change(id, who, |p| {
            if let Some(r) = c.request {
                p.request_id = Some(r);
            }
            p.confirm(
                who,
                c.due_on,
                c.target_release.map(String::from),
                Utc::now(),
            )
        })
        .await
    }

    /// Dismisses a proposed promise (the reply promised nothing after all).
    pub async fn dismiss(&self, id: PromiseId, who: &str) -> Result<Promise, DeskError> {
        self.change(id, who, Promise::dismiss).await
    }
}
