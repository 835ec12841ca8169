//! Facts about one request that are not its parameters: who sent it, from where, when.

use time::OffsetDateTime;

/// The per-request context shared by authorization and audit.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Returned to the client as `RequestId` / `x-amzn-RequestId` and recorded as `requestID`.
    pub request_id: String,
    /// The client's address, CloudTrail's `sourceIPAddress`.
    pub source_ip: String,
    /// The client's `User-Agent`, truncated to 1 KiB as CloudTrail does.
    pub user_agent: String,
    /// The region the client signed for.
    pub region: String,
    /// When the request arrived.
    pub received_at: OffsetDateTime,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
}
