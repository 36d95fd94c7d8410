use earshot_analyze::{eval, fingerprint};
use std::collections::HashSet;
fn main() {
    let d = std::path::Path::new("/work/shared/data");
    let tr = eval::tweeteval(d, "train").unwrap();
    let va = eval::tweeteval(d, "val").unwrap();
    let fps: Vec<u64> = tr.iter().map(|(t,_)| fingerprint::of_text(t)).collect();
    let set: HashSet<u64> = fps.iter().copied().collect();
    let mut exact = 0; let mut near = 0;
    for (t,_) in &va { let f = fingerprint::of_text(t); if set.contains(&f) { exact += 1; } else if fps.iter().any(|g| (f^g).count_ones() <= 3) { near += 1; } }
    println!("val {} exact-fp {} near {}", va.len(), exact, near);
}
