//! Lex V1's restJson1 routes: how each operation is bound to method, path,
//! query, headers and payload (from the service's AWS model).

#[allow(unused_imports, reason = "each table uses its own subset")]
use trailguard_model::wire::{Payload, Route, h, hj};

const LIST_QUERY: &[(&str, &str)] = &[
    ("nextToken", "nextToken"),
    ("maxResults", "maxResults"),
    ("nameContains", "nameContains"),
];

/// Lex V1: the model-building API (`lex-models`) and the runtime (`lex-runtime`)
/// both sign as `lex`; their paths never overlap.
pub const ROUTES: &[Route] = &[
    Route::json("PUT", "/bots/{name}/versions/$LATEST", "PutBot"),
    Route::json("GET", "/bots/{name}/versions/{versionOrAlias}", "GetBot"),
    Route::json("GET", "/bots/", "GetBots").query(LIST_QUERY),
    Route::json("DELETE", "/bots/{name}", "DeleteBot").status(204),
    Route::json("PUT", "/bots/{botName}/aliases/{name}", "PutBotAlias"),
    Route::json("GET", "/bots/{botName}/aliases/{name}", "GetBotAlias"),
    Route::json("DELETE", "/bots/{botName}/aliases/{name}", "DeleteBotAlias").status(204),
    Route::json("PUT", "/intents/{name}/versions/$LATEST", "PutIntent"),
    Route::json("GET", "/intents/{name}/versions/{version}", "GetIntent"),
    Route::json("GET", "/intents/", "GetIntents").query(LIST_QUERY),
    Route::json("DELETE", "/intents/{name}", "DeleteIntent").status(204),
    Route::json("PUT", "/slottypes/{name}/versions/$LATEST", "PutSlotType"),
    Route::json("GET", "/slottypes/{name}/versions/{version}", "GetSlotType"),
    Route::json("GET", "/slottypes/", "GetSlotTypes").query(LIST_QUERY),
    Route::json("DELETE", "/slottypes/{name}", "DeleteSlotType").status(204),
    Route::json(
        "POST",
        "/bot/{botName}/alias/{botAlias}/user/{userId}/text",
        "PostText",
    ),
    Route {
        method: "POST",
        path: "/bot/{botName}/alias/{botAlias}/user/{userId}/content",
        operation: "PostContent",
        status: 200,
        query: &[],
        headers: &[
            hj("sessionAttributes", "x-amz-lex-session-attributes"),
            hj("requestAttributes", "x-amz-lex-request-attributes"),
            h("contentType", "content-type"),
            h("accept", "accept"),
        ],
        payload: Payload::Raw("inputStream"),
        out_headers: &[
            h("contentType", "content-type"),
            h("intentName", "x-amz-lex-intent-name"),
            hj("slots", "x-amz-lex-slots"),
            hj("sessionAttributes", "x-amz-lex-session-attributes"),
            h("message", "x-amz-lex-message"),
            h("encodedMessage", "x-amz-lex-encoded-message"),
            h("messageFormat", "x-amz-lex-message-format"),
            h("dialogState", "x-amz-lex-dialog-state"),
            h("slotToElicit", "x-amz-lex-slot-to-elicit"),
            h("inputTranscript", "x-amz-lex-input-transcript"),
            h(
                "encodedInputTranscript",
                "x-amz-lex-encoded-input-transcript",
            ),
            h("botVersion", "x-amz-lex-bot-version"),
            h("sessionId", "x-amz-lex-session-id"),
        ],
        out_payload: Payload::Raw("audioStream"),
        unsigned_body: true,
    },
];
