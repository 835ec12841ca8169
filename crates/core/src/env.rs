//! The environment one operation runs in: its transaction, the caller and the
//! injected clock and ids. Operations never reach storage or time any other way.

use crate::catalogue::Catalogue;
use crate::error::{Error, Result};
use crate::module::Registry;
use crate::prepare::{Job, Pending, Prepared};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use trailguard_model::cloudtrail::Resource;
use trailguard_model::{Caller, IdGen, RequestContext};
use trailguard_store::{Blobs, Tx};

/// One operation's view of the world.
pub struct Env<'a> {
    pub tx: &'a mut dyn Tx,
    /// Object bytes (S3); written before the transaction that names them commits.
    pub blobs: &'a dyn Blobs,
    pub now: OffsetDateTime,
    pub ids: &'a dyn IdGen,
    pub caller: &'a Caller,
    pub ctx: &'a RequestContext,
    /// The account the call acts in (the caller's).
    pub account: String,
    pub catalogue: &'a Catalogue,
    /// Every service served: for calls from one service to another
    /// (`linked::act_as`) and the seams the core asks services through.
    pub registry: &'a Registry,
    /// Resources to name in the CloudTrail record.
    pub resources: Vec<Resource>,
    /// The authorization decision trace of a denied call, for the audit record.
    pub decision_trace: Option<serde_json::Value>,
    /// Set while an AWS service acts on the caller's behalf (forward access):
    /// `aws:ViaAWSService` is then true.
    pub via_service: Option<String>,
    /// The results of slow work done for this call outside its transaction.
    pub prepared: &'a Prepared,
}

impl<'a> Env<'a> {
    /// A fresh view for one transaction: no resources named yet, no decision
    /// trace, not acting for a service.
    #[allow(clippy::too_many_arguments, reason = "every field an operation sees")]
    pub fn new(
        tx: &'a mut dyn Tx,
        blobs: &'a dyn Blobs,
        now: OffsetDateTime,
        ids: &'a dyn IdGen,
        caller: &'a Caller,
        ctx: &'a RequestContext,
        account: String,
        catalogue: &'a Catalogue,
        registry: &'a Registry,
        prepared: &'a Prepared,
    ) -> Self {
        Self {
            tx,
            blobs,
            now,
            ids,
            caller,
            ctx,
            account,
            catalogue,
            registry,
            resources: Vec::new(),
            decision_trace: None,
            via_service: None,
            prepared,
        }
    }

    /// The same transaction, clock and prepared work seen by another caller
    /// from another context (a service acting on the caller's behalf).
    pub fn as_caller<'b>(&'b mut self, caller: &'b Caller, ctx: &'b RequestContext) -> Env<'b> {
        Env::new(
            &mut *self.tx,
            self.blobs,
            self.now,
            self.ids,
            caller,
            ctx,
            self.account.clone(),
            self.catalogue,
            self.registry,
            self.prepared,
        )
    }
}

impl Env<'_> {
    /// The result of slow work (`prepare`): available when a job with exactly
    /// these inputs ran for this call, else the call is rolled back, the job runs
    /// with the writer released, and the call is tried again. Handlers propagate
    /// the error with `?` and never catch it.
    pub fn prepared<J: Job>(&self, job: J) -> Result<J::Output> {
        match self.prepared.get(&job) {
            Some(out) => Ok(out),
            None => Err(Error::NeedsPreparation(Pending::new(job))),
        }
    }

    /// Reads and decodes a document.
    pub fn get<T: DeserializeOwned>(&mut self, ns: &str, key: &str) -> Result<Option<T>> {
        match self.tx.get(ns, key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("{ns}/{key}: {e}"))),
        }
    }

    /// Encodes and writes a document.
    pub fn put<T: Serialize>(&mut self, ns: &str, key: &str, value: &T) -> Result<()> {
        let bytes =
            serde_json::to_vec(value).map_err(|e| Error::Corrupt(format!("{ns}/{key}: {e}")))?;
        self.tx.put(ns, key, &bytes)?;
        Ok(())
    }

    /// Deletes a document.
    pub fn delete(&mut self, ns: &str, key: &str) -> Result<bool> {
        Ok(self.tx.delete(ns, key)?)
    }

    /// Deletes every document under a prefix; returns how many.
    pub fn delete_prefix(&mut self, ns: &str, prefix: &str) -> Result<usize> {
        let keys: Vec<String> = self
            .tx
            .scan(ns, prefix, None, usize::MAX)?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for k in &keys {
            self.tx.delete(ns, k)?;
        }
        Ok(keys.len())
    }

    /// Decodes documents under a prefix, in key order, after `after`, at most `limit`.
    pub fn scan<T: DeserializeOwned>(
        &mut self,
        ns: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>> {
        self.tx
            .scan(ns, prefix, after, limit)?
            .into_iter()
            .map(|(k, v)| {
                serde_json::from_slice(&v)
                    .map(|t| (k.clone(), t))
                    .map_err(|e| Error::Corrupt(format!("{ns}/{k}: {e}")))
            })
            .collect()
    }

    /// Calls `visit` with every document under a prefix, undecoded, without
    /// collecting them (for reads that parse part of each and keep few). The
    /// first error `visit` returns ends the walk and is returned.
    pub fn visit(
        &mut self,
        ns: &str,
        prefix: &str,
        visit: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut failed = None;
        self.tx.visit(ns, prefix, &mut |key, bytes| {
            if failed.is_none()
                && let Err(e) = visit(key, bytes)
            {
                failed = Some(e);
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// Every document under a prefix.
    pub fn scan_all<T: DeserializeOwned>(&mut self, ns: &str, prefix: &str) -> Result<Vec<T>> {
        Ok(self
            .scan(ns, prefix, None, usize::MAX)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }
}
