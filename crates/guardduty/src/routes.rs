//! GuardDuty's restJson1 routes: how each operation is bound to method, path,
//! query, headers and payload (from the service's AWS model).

#[allow(unused_imports, reason = "each table uses its own subset")]
use trailguard_model::wire::{Payload, Route, h, hj};

pub const ROUTES: &[Route] = &[
    Route::json("POST", "/detector", "CreateDetector"),
    Route::json("GET", "/detector", "ListDetectors")
        .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json("GET", "/detector/{detectorId}", "GetDetector"),
    Route::json("POST", "/detector/{detectorId}", "UpdateDetector"),
    Route::json("DELETE", "/detector/{detectorId}", "DeleteDetector"),
    Route::json("POST", "/detector/{detectorId}/findings", "ListFindings"),
    Route::json("POST", "/detector/{detectorId}/findings/get", "GetFindings"),
    Route::json(
        "POST",
        "/detector/{detectorId}/findings/archive",
        "ArchiveFindings",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/findings/unarchive",
        "UnarchiveFindings",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/findings/feedback",
        "UpdateFindingsFeedback",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/findings/statistics",
        "GetFindingsStatistics",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/findings/create",
        "CreateSampleFindings",
    ),
    Route::json("POST", "/detector/{detectorId}/filter", "CreateFilter"),
    Route::json("GET", "/detector/{detectorId}/filter", "ListFilters")
        .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json(
        "GET",
        "/detector/{detectorId}/filter/{filterName}",
        "GetFilter",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/filter/{filterName}",
        "UpdateFilter",
    ),
    Route::json(
        "DELETE",
        "/detector/{detectorId}/filter/{filterName}",
        "DeleteFilter",
    ),
    Route::json("POST", "/detector/{detectorId}/ipset", "CreateIPSet"),
    Route::json("GET", "/detector/{detectorId}/ipset", "ListIPSets")
        .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json("GET", "/detector/{detectorId}/ipset/{ipSetId}", "GetIPSet"),
    Route::json(
        "POST",
        "/detector/{detectorId}/ipset/{ipSetId}",
        "UpdateIPSet",
    ),
    Route::json(
        "DELETE",
        "/detector/{detectorId}/ipset/{ipSetId}",
        "DeleteIPSet",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/threatintelset",
        "CreateThreatIntelSet",
    ),
    Route::json(
        "GET",
        "/detector/{detectorId}/threatintelset",
        "ListThreatIntelSets",
    )
    .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json(
        "GET",
        "/detector/{detectorId}/threatintelset/{threatIntelSetId}",
        "GetThreatIntelSet",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/threatintelset/{threatIntelSetId}",
        "UpdateThreatIntelSet",
    ),
    Route::json(
        "DELETE",
        "/detector/{detectorId}/threatintelset/{threatIntelSetId}",
        "DeleteThreatIntelSet",
    ),
    Route::json("POST", "/detector/{detectorId}/member", "CreateMembers"),
    Route::json("GET", "/detector/{detectorId}/member", "ListMembers").query(&[
        ("maxResults", "maxResults"),
        ("nextToken", "nextToken"),
        ("onlyAssociated", "onlyAssociated"),
    ]),
    Route::json(
        "POST",
        "/detector/{detectorId}/member/invite",
        "InviteMembers",
    ),
    Route::json("POST", "/detector/{detectorId}/member/get", "GetMembers"),
    Route::json(
        "POST",
        "/detector/{detectorId}/member/disassociate",
        "DisassociateMembers",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/member/delete",
        "DeleteMembers",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/administrator",
        "AcceptAdministratorInvitation",
    ),
    Route::json(
        "GET",
        "/detector/{detectorId}/administrator",
        "GetAdministratorAccount",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/administrator/disassociate",
        "DisassociateFromAdministratorAccount",
    ),
    Route::json("GET", "/invitation", "ListInvitations")
        .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json("GET", "/invitation/count", "GetInvitationsCount"),
    Route::json("POST", "/invitation/decline", "DeclineInvitations"),
    Route::json(
        "POST",
        "/detector/{detectorId}/publishingDestination",
        "CreatePublishingDestination",
    ),
    Route::json(
        "GET",
        "/detector/{detectorId}/publishingDestination",
        "ListPublishingDestinations",
    )
    .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json(
        "GET",
        "/detector/{detectorId}/publishingDestination/{destinationId}",
        "DescribePublishingDestination",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/publishingDestination/{destinationId}",
        "UpdatePublishingDestination",
    ),
    Route::json(
        "DELETE",
        "/detector/{detectorId}/publishingDestination/{destinationId}",
        "DeletePublishingDestination",
    ),
];
