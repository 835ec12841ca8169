//! Every bound the wire decoders enforce, in one place.
//!
//! A request is untrusted until its signature is checked and still hostile
//! after: every decoder (awsQuery, awsJson1.1, restJson1, S3's XML) bounds how
//! much it reads, how deeply it nests and how many members it builds before any
//! work is done, so no input can exhaust the stack or memory. AWS documents no
//! nesting or member limits for these protocols; the numbers here are generous
//! for every shape the served operations define (the deepest is a handful of
//! levels) and small enough to keep a recursive walk of the tree safe.

use trailguard_model::ServiceDef;
#[cfg(test)]
use trailguard_model::wire::Protocol;

/// How deeply a request's parameters may nest: each structure, list or map
/// within another is one level; top-level members are at depth 1.
pub const MAX_DEPTH: usize = 32;

/// Most members (structure members, list elements and map entries, at every
/// level) one request may carry.
pub const MAX_MEMBERS: usize = 20_000;

/// Longest parameter or member name, in bytes: an awsQuery name such as
/// `Tags.member.3.Key` or a JSON object key.
pub const MAX_NAME_LEN: usize = 512;

/// Highest awsQuery list index (`member.N`, `entry.N`).
pub const MAX_LIST_INDEX: u32 = 10_000;

/// Longest restJson1 header bound to a member, in bytes. Lex documents 12 KB
/// for its session and request attribute headers; no bound header is larger.
pub const MAX_BOUND_HEADER: usize = 12 * 1024;

/// Longest restJson1 path label, in bytes (names and ids are far shorter).
pub const MAX_LABEL_LEN: usize = 1024;

/// The largest body any request may have: S3 object uploads and Lex's audio
/// input (`PostContent`).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// The largest body of a request whose members are all structured parameters
/// (IAM, STS, Redshift, CloudTrail, GuardDuty, Polly). AWS documents no request
/// size for these APIs; their largest member is an IAM policy document of at
/// most 131,072 characters, which fits form-encoded in this with room to spare.
pub const MAX_PARAMETER_BODY: usize = 1024 * 1024;

/// The largest XML document S3's decoder reads (a `CreateBucketConfiguration`;
/// S3's configuration documents are small).
pub const MAX_XML_BODY: usize = 64 * 1024;

/// The largest body a request to `service` may have (an unknown service's,
/// the parameter cap).
pub fn max_body(service: Option<&ServiceDef>) -> usize {
    match service {
        Some(def) if def.large_bodies => MAX_BODY,
        Some(_) | None => MAX_PARAMETER_BODY,
    }
}

/// Counts members while a decoder builds a tree, failing past [`MAX_MEMBERS`].
#[derive(Debug, Default)]
pub struct MemberBudget {
    used: usize,
}

impl MemberBudget {
    /// Takes one member; `false` once the budget is spent.
    pub fn take(&mut self) -> bool {
        self.used += 1;
        self.used <= MAX_MEMBERS
    }
}

/// Why a tree exceeds a limit, in words for the error message.
pub fn too_deep() -> String {
    format!("The request nests parameters more than {MAX_DEPTH} levels deep.")
}

/// See [`too_deep`].
pub fn too_many_members() -> String {
    format!("The request has more than {MAX_MEMBERS} parameters.")
}

/// See [`too_deep`].
pub fn name_too_long() -> String {
    format!("A parameter name is longer than {MAX_NAME_LEN} bytes.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_services_get_the_smaller_body_cap() {
        let small = ServiceDef::new("iam", "iam.amazonaws.com", Protocol::AwsQuery);
        let large = ServiceDef {
            large_bodies: true,
            ..ServiceDef::new("s3", "s3.amazonaws.com", Protocol::RestXmlS3)
        };
        assert_eq!(max_body(Some(&small)), MAX_PARAMETER_BODY);
        assert_eq!(max_body(None), MAX_PARAMETER_BODY);
        assert_eq!(max_body(Some(&large)), MAX_BODY);
        let mut b = MemberBudget::default();
        assert!((0..MAX_MEMBERS).all(|_| b.take()));
        assert!(!b.take());
    }
}
