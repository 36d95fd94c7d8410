//! Payloads that hold several posts: a Google Play `reviews.list` page (or a single `Review`
//! as `reviews.get` returns it), a YouTube `commentThreads.list`/`comments.list` page or a
//! thread (its top-level comment and the replies it carries). Each post keeps its own review
//! or comment as raw, not the whole page.

use super::{json_error, not_a_post, Format, Outcome};
use crate::googleplay::wire::{Review, ReviewsPage};
use crate::youtube::wire::{thread_posts, Comment, ListPage, Thread};
use earshot_core::NewPost;
use serde_json::Value;

/// The posts of `payload` when `format` is read here; `None` for the other formats.
pub(super) fn convert(
    format: Format,
    line: usize,
    payload: &[u8],
) -> Option<Vec<Result<NewPost, Outcome>>> {
    match format {
        Format::GooglePlayReview => Some(googleplay(line, payload)),
        Format::YouTubeComment => Some(youtube(line, payload)),
        _ => None,
    }
}

fn googleplay(line: usize, payload: &[u8]) -> Vec<Result<NewPost, Outcome>> {
    let value: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => return vec![Err(json_error(&e, line))],
    };
    let reviews = if value.get("reviews").is_some() {
        match serde_json::from_value::<ReviewsPage>(value) {
            Ok(page) => page.reviews,
            Err(e) => return vec![Err(json_error(&e, line))],
        }
    } else {
        vec![value]
    };
    reviews
        .into_iter()
        .map(|raw| {
            serde_json::from_value::<Review>(raw.clone())
                .map_err(|e| json_error(&e, line))
                .and_then(|review| not_a_post(review.to_new_post(&raw)))
        })
        .collect()
}

fn youtube(line: usize, payload: &[u8]) -> Vec<Result<NewPost, Outcome>> {
    let value: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => return vec![Err(json_error(&e, line))],
    };
    let items = if value.get("items").is_some() {
        match serde_json::from_value::<ListPage>(value) {
            Ok(page) => page.items,
            Err(e) => return vec![Err(json_error(&e, line))],
        }
    } else {
        vec![value]
    };
    let mut posts = Vec::new();
    for item in items {
        // An import does not know the brand's channel: whose comment it is stays unknown.
        if item["kind"] == "youtube#commentThread"
            || item["snippet"].get("topLevelComment").is_some()
        {
            match serde_json::from_value::<Thread>(item) {
                Ok(thread) => posts.extend(thread_posts(&thread, "").into_iter().map(not_a_post)),
                Err(e) => posts.push(Err(json_error(&e, line))),
            }
        } else {
            posts.push(
                serde_json::from_value::<Comment>(item)
                    .map_err(|e| json_error(&e, line))
                    .and_then(|c| not_a_post(c.to_new_post(None, ""))),
            );
        }
    }
    posts
}

#[cfg(test)]
mod tests {
    use crate::{Format, Importer, Record};
    use std::io::Write;

    fn import(content: &str) -> (Format, Vec<Record>) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(content.as_bytes()).unwrap();
        let importer = Importer::open(file.path()).unwrap();
        let format = importer.format();
        (format, importer.collect())
    }

    const REVIEW: &str = r#"{"reviewId": "gp:A1", "authorName": "Marta R.", "comments": [{"userComment": {"text": "Kettle app\tStopped connecting", "lastModified": {"seconds": "1787217297", "nanos": 0}, "starRating": 2, "appVersionName": "3.1.2"}}]}"#;

    #[test]
    fn a_reviews_page_and_single_reviews_import_one_post_per_review() {
        let page = format!(
            "{{\"reviews\": [{REVIEW}, {{\"reviewId\": \"gp:A2\", \"comments\": [{{\"userComment\": {{\"text\": \"x\", \"starRating\": 9, \"lastModified\": {{\"seconds\": \"1\"}}}}}}]}}], \"tokenPagination\": {{}}}}"
        );
        let (format, records) = import(&page);
        assert_eq!(format, Format::GooglePlayReview);
        assert_eq!(records.len(), 2, "{records:?}");
        let Record::Post { post, line } = &records[0] else {
            panic!("{records:?}")
        };
        assert_eq!(*line, 1);
        assert_eq!(post.external_id, "gp:A1");
        assert!(post
            .text
            .starts_with("★★☆☆☆ 2/5 Kettle app\nStopped connecting\napp 3.1.2"));
        let raw = post.raw.as_deref().unwrap();
        assert!(
            raw.contains("gp:A1") && !raw.contains("gp:A2"),
            "the review, not the page: {raw}"
        );
        let Record::Rejected { reason, .. } = &records[1] else {
            panic!("{records:?}")
        };
        assert!(reason.contains("starRating"), "{reason}");
        // JSON lines of single reviews (as `reviews.get` answers).
        let (format, records) =
            import(&format!("{REVIEW}\n{}\n", REVIEW.replace("gp:A1", "gp:A3")));
        assert_eq!(format, Format::GooglePlayReview);
        assert_eq!(records.len(), 2);
        assert!(
            matches!(&records[1], Record::Post { post, line: 2 } if post.external_id == "gp:A3")
        );
    }

    #[test]
    fn a_youtube_thread_page_imports_the_comment_and_its_replies() {
        let page = r#"{"kind": "youtube#commentThreadListResponse", "items": [{"kind": "youtube#commentThread", "id": "Ugz1", "snippet": {"videoId": "v1", "totalReplyCount": 1, "topLevelComment": {"id": "Ugz1", "snippet": {"textDisplay": "Mine skips it", "authorDisplayName": "@giulia.b", "authorChannelId": {"value": "UCb2"}, "publishedAt": "2026-08-20T09:14:57Z"}}}, "replies": {"comments": [{"id": "Ugz1.AM1", "snippet": {"parentId": "Ugz1", "textDisplay": "Same here", "authorChannelId": {"value": "UCd4"}, "publishedAt": "2026-08-20T09:40:02Z"}}]}}]}"#;
        let (format, records) = import(page);
        assert_eq!(format, Format::YouTubeComment);
        let posts: Vec<_> = records
            .iter()
            .map(|r| match r {
                Record::Post { post, .. } => post.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[1].in_reply_to.as_deref(), Some("Ugz1"));
        assert!(
            posts[1].url.as_deref().unwrap().contains("v=v1"),
            "the thread's video"
        );
        assert_eq!(posts[0].from_brand, None);
    }
}
