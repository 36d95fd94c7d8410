use super::*;

#[test]
fn passwords_stay_out_of_messages() {
    assert_eq!(
        redact("postgres://me:secret@db:5432/earshot"),
        "postgres://me@db:5432/earshot"
    );
    assert_eq!(redact("postgres://db/earshot"), "postgres://db/earshot");
}
