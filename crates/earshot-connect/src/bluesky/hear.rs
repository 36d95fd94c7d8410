//! The hot path: one Jetstream frame in, a decision out.
//!
//! Most of the firehose is posts that have nothing to do with the brand. They are read
//! through borrowed views ([`EventHead`], [`record_text`]), matched with the brand's terms, and
//! dropped without touching the heap; only a post that concerns the brand is parsed in full
//! ([`build_post`]). The live source and the throughput bench run this same code.

use super::brand::{BrandMatcher, Scratch};
use super::wire::{record_text, EventHead, JetstreamEvent, PostRecord, TextAt, POST_COLLECTION};
use crate::NotAPost;
use earshot_core::NewPost;
use std::borrow::Cow;

/// What a frame told us, with its cursor.
#[derive(Debug)]
pub(crate) struct Heard<'a> {
    /// The event's `time_us` (absent only in broken frames).
    pub time_us: Option<i64>,
    pub what: What<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    Update,
}

#[derive(Debug)]
pub(crate) enum What<'a> {
    /// Another collection or event kind, or an account event: nothing to keep.
    Nothing,
    /// A post was created or updated; `concerns_brand` says whether it names the brand.
    Post {
        operation: Operation,
        did: Cow<'a, str>,
        rkey: Cow<'a, str>,
        cid: Cow<'a, str>,
        concerns_brand: bool,
    },
    /// A post was deleted (no record comes with it).
    Deleted {
        did: Cow<'a, str>,
        rkey: Cow<'a, str>,
    },
    /// A handle or DID document changed: cached profiles of `did` are stale.
    Identity { did: Cow<'a, str> },
    /// Not a Jetstream event (broken JSON, a cut-off frame): skipped, never fatal.
    Unreadable(String),
}

/// Reads one frame and decides whether it concerns the brand.
pub(crate) fn hear<'a>(frame: &'a str, brand: &BrandMatcher, scratch: &mut Scratch) -> Heard<'a> {
    let head: EventHead<'a> = match serde_json::from_str(frame) {
        Ok(head) => head,
        Err(e) => {
            return Heard {
                time_us: None,
                what: What::Unreadable(e.to_string()),
            }
        }
    };
    let what = match head.kind.as_ref() {
        "commit" => match head.commit {
            Some(commit) if commit.collection == POST_COLLECTION => {
                match commit.operation.as_ref() {
                    "create" | "update" => {
                        let concerns_brand = brand.is_brand(&head.did)
                            || commit
                                .record
                                .is_some_and(|r| record_concerns_brand(r.get(), brand, scratch));
                        What::Post {
                            operation: if commit.operation == "create" {
                                Operation::Create
                            } else {
                                Operation::Update
                            },
                            did: head.did,
                            rkey: commit.rkey,
                            cid: commit.cid,
                            concerns_brand,
                        }
                    }
                    "delete" => What::Deleted {
                        did: head.did,
                        rkey: commit.rkey,
                    },
                    _ => What::Nothing,
                }
            }
            _ => What::Nothing,
        },
        "identity" => What::Identity { did: head.did },
        _ => What::Nothing,
    };
    Heard {
        time_us: head.time_us,
        what,
    }
}

/// Whether a raw post record names the brand: by DID (facets, reply refs) or in its text.
fn record_concerns_brand(record: &str, brand: &BrandMatcher, scratch: &mut Scratch) -> bool {
    if brand.may_name_brand(record) {
        // Rare: the brand's DID is somewhere in the record. Read it properly to be sure.
        if let Ok(full) = serde_json::from_str::<PostRecord>(record) {
            if brand.record_names_brand(&full) {
                return true;
            }
        }
    }
    let Scratch { text, lower } = scratch;
    match record_text(record, text) {
        Ok(TextAt::Frame(t)) => brand.text_concerns_brand(t, lower),
        Ok(TextAt::Scratch) => brand.text_concerns_brand(text, lower),
        Ok(TextAt::Missing) | Err(_) => false,
    }
}

/// The full post in a frame that [`hear`] found worth keeping, with the raw frame attached.
pub(crate) fn build_post(frame: &str) -> Result<NewPost, NotAPost> {
    let event: JetstreamEvent = serde_json::from_str(frame)
        .map_err(|e| crate::InvalidPost::message(format!("unreadable event: {e}")))?;
    let mut post = event.into_new_post()?;
    post.raw = Some(frame.to_owned());
    Ok(post)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand() -> BrandMatcher {
        BrandMatcher::new(
            &["acme.bsky.social".into()],
            &["did:plc:q3ov5tmzj6f2xk7lbnc4ahwe".into()],
            &["roadster".into()],
        )
        .unwrap()
    }

    fn frame(did: &str, op: &str, record: &str) -> String {
        format!(
            r#"{{"did":"{did}","time_us":1787217298123456,"kind":"commit","commit":{{"rev":"3lxq7h2mfak2c","operation":"{op}","collection":"app.bsky.feed.post","rkey":"3lxq7h2lzgs2c","record":{record},"cid":"bafyreih2kvj72ceuvw75efr6edt4sywb5wkh7dnsipzz7fk4zri3r2wyoj"}}}}"#
        )
    }

    fn concerns(frame: &str) -> Option<bool> {
        match hear(frame, &brand(), &mut Scratch::default()).what {
            What::Post { concerns_brand, .. } => Some(concerns_brand),
            _ => None,
        }
    }

    #[test]
    fn posts_are_kept_only_when_they_concern_the_brand() {
        let customer = "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e";
        let plain = frame(
            customer,
            "create",
            r#"{"text":"nice weather","langs":["en"]}"#,
        );
        assert_eq!(concerns(&plain), Some(false));
        let term = frame(
            customer,
            "create",
            r#"{"text":"My Roadster\nwon't start","langs":["en"]}"#,
        );
        assert_eq!(concerns(&term), Some(true));
        let escaped = frame(customer, "update", r#"{"text":"\u0052oadster broke"}"#);
        assert_eq!(concerns(&escaped), Some(true));
        let mention = frame(
            customer,
            "create",
            r#"{"text":"hi @acme","facets":[{"index":{"byteStart":3,"byteEnd":8},"features":[{"$type":"app.bsky.richtext.facet#mention","did":"did:plc:q3ov5tmzj6f2xk7lbnc4ahwe"}]}]}"#,
        );
        assert_eq!(concerns(&mention), Some(true));
        // The DID appears, but only in a link: not a mention.
        let link = frame(
            customer,
            "create",
            r#"{"text":"see this","facets":[{"index":{"byteStart":0,"byteEnd":3},"features":[{"$type":"app.bsky.richtext.facet#link","uri":"https://x.example/did:plc:q3ov5tmzj6f2xk7lbnc4ahwe"}]}]}"#,
        );
        assert_eq!(concerns(&link), Some(false));
        let own = frame(
            "did:plc:q3ov5tmzj6f2xk7lbnc4ahwe",
            "create",
            r#"{"text":"we shipped"}"#,
        );
        assert_eq!(concerns(&own), Some(true));
        let no_text = frame(customer, "create", r#"{"text":null}"#);
        assert_eq!(concerns(&no_text), Some(false));
    }

    #[test]
    fn other_frames_are_classified_without_fuss() {
        let b = brand();
        let mut s = Scratch::default();
        let delete = r#"{"did":"did:plc:a","time_us":5,"kind":"commit","commit":{"rev":"r","operation":"delete","collection":"app.bsky.feed.post","rkey":"3k"}}"#;
        let heard = hear(delete, &b, &mut s);
        assert_eq!(heard.time_us, Some(5));
        assert!(matches!(heard.what, What::Deleted { ref rkey, .. } if rkey == "3k"));
        let like = r#"{"did":"did:plc:a","time_us":6,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","rkey":"3k","record":{"text":"roadster"}}}"#;
        assert!(matches!(hear(like, &b, &mut s).what, What::Nothing));
        let identity = r#"{"did":"did:plc:a","time_us":7,"kind":"identity","identity":{"did":"did:plc:a","handle":"a.example"}}"#;
        assert!(matches!(
            hear(identity, &b, &mut s).what,
            What::Identity { .. }
        ));
        let account = r#"{"did":"did:plc:a","time_us":8,"kind":"account","account":{"active":false,"did":"did:plc:a","status":"deactivated"}}"#;
        assert!(matches!(hear(account, &b, &mut s).what, What::Nothing));
        let broken = r#"{"did":"did:plc:a","time_us":9,"kind":"comm"#;
        assert!(matches!(hear(broken, &b, &mut s).what, What::Unreadable(_)));
        // Jetstream v2 adds a sequence `cursor`: tolerated.
        let v2 = r#"{"did":"did:plc:a","time_us":10,"cursor":12345,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3k","cid":"bafy","record":{"text":"roadster"}}}"#;
        assert!(matches!(
            hear(v2, &b, &mut s).what,
            What::Post {
                concerns_brand: true,
                ..
            }
        ));
    }

    #[test]
    fn a_kept_post_is_built_in_full() {
        let f = frame(
            "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e",
            "create",
            r#"{"text":"roadster help","createdAt":"2026-08-20T09:14:57.801Z","langs":["en"]}"#,
        );
        let post = build_post(&f).unwrap();
        assert_eq!(
            post.external_id,
            "at://did:plc:7x2kq4mhd3vlrwy5n6aqzt4e/app.bsky.feed.post/3lxq7h2lzgs2c"
        );
        assert_eq!(post.raw.as_deref(), Some(f.as_str()));
        assert!(build_post("{").is_err());
    }
}
