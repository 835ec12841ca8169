//! Polly's restJson1 routes: how each operation is bound to method, path,
//! query, headers and payload (from the service's AWS model).

#[allow(unused_imports, reason = "each table uses its own subset")]
use trailguard_model::wire::{Payload, Route, h, hj};

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/v1/speech",
        operation: "SynthesizeSpeech",
        status: 200,
        query: &[],
        headers: &[],
        payload: Payload::Json,
        out_headers: &[
            h("ContentType", "content-type"),
            h("RequestCharacters", "x-amzn-RequestCharacters"),
        ],
        out_payload: Payload::Raw("AudioStream"),
        unsigned_body: false,
    },
    Route::json("GET", "/v1/voices", "DescribeVoices").query(&[
        ("Engine", "Engine"),
        ("LanguageCode", "LanguageCode"),
        (
            "IncludeAdditionalLanguageCodes",
            "IncludeAdditionalLanguageCodes",
        ),
        ("NextToken", "NextToken"),
    ]),
];
