//! What a service is, as every layer needs to know it: its name, how its
//! records name it, the protocol it speaks. Each service crate declares its
//! own [`ServiceDef`]; nothing here lists them.

use crate::wire::{Protocol, Route};

/// A service, by the name clients sign for it (`iam`, `guardduty`): also
/// the prefix of its IAM actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(&'static str);

impl ServiceId {
    pub const fn named(signing_name: &'static str) -> Self {
        Self(signing_name)
    }

    /// The SigV4 signing name, also the IAM action prefix.
    pub fn signing_name(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for ServiceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Everything about a service that is not one of its operations.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDef {
    pub id: ServiceId,
    /// CloudTrail's `eventSource`.
    pub event_source: &'static str,
    pub protocol: Protocol,
    /// The awsQuery response namespace (empty for other protocols).
    pub xml_namespace: &'static str,
    /// restJson1 routes, one per operation (empty for other protocols).
    pub routes: &'static [Route],
    /// A global service answers in every region and records in us-east-1.
    pub global: bool,
    /// Takes request bodies up to the large cap (S3 objects, Lex audio)
    /// rather than the parameter cap.
    pub large_bodies: bool,
}

impl ServiceDef {
    /// A regional service with small bodies and no routes.
    pub const fn new(
        signing_name: &'static str,
        event_source: &'static str,
        protocol: Protocol,
    ) -> Self {
        Self {
            id: ServiceId::named(signing_name),
            event_source,
            protocol,
            xml_namespace: "",
            routes: &[],
            global: false,
            large_bodies: false,
        }
    }
}
