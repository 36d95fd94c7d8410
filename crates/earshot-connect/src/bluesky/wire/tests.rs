use super::*;

const REPLY: &str = r#"{
  "did": "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e", "time_us": 1787217298123456, "kind": "commit",
  "commit": {
    "rev": "3lxq7h2mfak2c", "operation": "create", "collection": "app.bsky.feed.post", "rkey": "3lxq7h2lzgs2c",
    "record": {
      "$type": "app.bsky.feed.post",
      "text": "Mi pedido #4471 llegó roto 😞 @acme.bsky.social ¿me ayudáis?",
      "langs": ["es"], "createdAt": "2026-08-20T09:14:57.801Z",
      "facets": [{"index": {"byteStart": 33, "byteEnd": 50},
                  "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:q3ov5tmzj6f2xk7lbnc4ahwe"}]}],
      "reply": {
        "root":   {"uri": "at://did:plc:q3ov5tmzj6f2xk7lbnc4ahwe/app.bsky.feed.post/3lxp4vq2d2k2a", "cid": "bafyreiegxdncf32epf3dhodzdocis2jhtlgmxgedn73u55xtplpft7v4se"},
        "parent": {"uri": "at://did:plc:q3ov5tmzj6f2xk7lbnc4ahwe/app.bsky.feed.post/3lxp4vq2d2k2b", "cid": "bafyreiegxdncf32epf3dhodzdocis2jhtlgmxgedn73u55xtplpft7v4se"}
      }
    },
    "cid": "bafyreih2kvj72ceuvw75efr6edt4sywb5wkh7dnsipzz7fk4zri3r2wyoj"
  }
}"#;

#[test]
fn a_post_commit_becomes_a_post() {
    let event: JetstreamEvent = serde_json::from_str(REPLY).unwrap();
    assert_eq!(event.cursor(), Some(1787217298123456));
    let post = event.into_new_post().unwrap();
    assert_eq!(post.network, Network::Bluesky);
    assert_eq!(
        post.external_id,
        "at://did:plc:7x2kq4mhd3vlrwy5n6aqzt4e/app.bsky.feed.post/3lxq7h2lzgs2c"
    );
    assert_eq!(
        post.in_reply_to.as_deref(),
        Some("at://did:plc:q3ov5tmzj6f2xk7lbnc4ahwe/app.bsky.feed.post/3lxp4vq2d2k2b")
    );
    assert_eq!(post.author.external_id, "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e");
    assert_eq!(post.author.handle, "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e");
    assert_eq!(post.lang.as_deref(), Some("es"));
    assert_eq!(
        post.created_at.to_rfc3339(),
        "2026-08-20T09:14:57.801+00:00"
    );
    assert!(post.text.starts_with("Mi pedido #4471"));
    assert_eq!(
        post.url.as_deref(),
        Some("https://bsky.app/profile/did:plc:7x2kq4mhd3vlrwy5n6aqzt4e/post/3lxq7h2lzgs2c")
    );
}

#[test]
fn a_known_handle_is_used() {
    let event: JetstreamEvent = serde_json::from_str(REPLY).unwrap();
    let post = event
        .into_new_post_with_handle(Some("@ana.example.com"))
        .unwrap();
    assert_eq!(post.author.handle, "ana.example.com");
}

#[test]
fn facets_are_read_by_byte_offsets() {
    let event: JetstreamEvent = serde_json::from_str(REPLY).unwrap();
    let record: PostRecord =
        serde_json::from_str(event.commit.unwrap().record.unwrap().get()).unwrap();
    assert_eq!(
        record.mentioned_dids().collect::<Vec<_>>(),
        ["did:plc:q3ov5tmzj6f2xk7lbnc4ahwe"]
    );
    assert_eq!(
        record.facet_text(&record.facets[0]),
        Some("@acme.bsky.social")
    );
    let bad = Facet {
        index: ByteSlice {
            byte_start: 29,
            byte_end: 30,
        }, // inside the emoji
        features: vec![],
    };
    assert_eq!(record.facet_text(&bad), None);
}

#[test]
fn non_posts_are_skipped() {
    let lines = [
        r#"{"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","time_us":1787217391000021,"kind":"commit","commit":{"rev":"3lxq7k1aa2s2c","operation":"delete","collection":"app.bsky.feed.post","rkey":"3lxq7h2lzgs2c"}}"#,
        r#"{"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","time_us":1787217400000311,"kind":"identity","identity":{"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","handle":"ana.example.com","seq":9123456789,"time":"2026-08-20T09:16:39.998Z"}}"#,
        r#"{"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","time_us":1787217500000144,"kind":"account","account":{"active":false,"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","seq":9123457001,"status":"deactivated","time":"2026-08-20T09:18:19.870Z"}}"#,
        r#"{"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","time_us":1787217500000145,"kind":"commit","commit":{"rev":"3","operation":"create","collection":"app.bsky.feed.like","rkey":"3lxq","record":{"subject":{}}}}"#,
    ];
    for line in lines {
        let event: JetstreamEvent = serde_json::from_str(line).unwrap();
        assert!(event.cursor().is_some());
        assert!(
            matches!(event.into_new_post(), Err(NotAPost::Skipped(_))),
            "{line}"
        );
    }
    let identity: JetstreamEvent = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(
        identity.announced_handle(),
        Some(("did:plc:7x2kq4mhd3vlrwy5n6aqzt4e", "ana.example.com"))
    );
}

#[test]
fn event_time_stands_in_for_a_bad_created_at() {
    let line = r#"{"did":"did:plc:a","time_us":1787217298123456,"kind":"commit","commit":{"operation":"update","collection":"app.bsky.feed.post","rkey":"r1","record":{"text":"Hej, min ordre er ikke kommet","createdAt":"not a time","langs":["da"]}}}"#;
    let post = serde_json::from_str::<JetstreamEvent>(line)
        .unwrap()
        .into_new_post()
        .unwrap();
    assert_eq!(post.created_at.timestamp_micros(), 1787217298123456);
    assert_eq!(post.lang.as_deref(), Some("da"));
    let neither = r#"{"did":"did:plc:a","kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r1","record":{"text":"x"}}}"#;
    let err = serde_json::from_str::<JetstreamEvent>(neither)
        .unwrap()
        .into_new_post()
        .unwrap_err();
    assert!(matches!(err, NotAPost::Invalid(_)), "{err:?}");
}

#[test]
fn a_create_without_record_is_invalid() {
    let line = r#"{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r1"}}"#;
    let err = serde_json::from_str::<JetstreamEvent>(line)
        .unwrap()
        .into_new_post()
        .unwrap_err();
    assert!(matches!(err, NotAPost::Invalid(_)));
}
