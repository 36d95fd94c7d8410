//! Language identification: the builder of the shipped n-gram model
//! (`earshot-analyze/src/lang/langid.bin`), its evaluation against whatlang and peers, and
//! its speed. Run through the `langid` binary:
//!
//! ```text
//! cargo run --release -p earshot-lab --bin langid -- build --check   # rebuild, compare bytes
//! cargo run --release -p earshot-lab --bin langid -- eval            # the table
//! cargo run --release -p earshot-lab --bin langid -- bench           # the speed
//! ```

pub mod bench;
pub mod build;
pub mod corpus;
pub mod eval;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LangIdError {
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Xlmt(#[from] earshot_analyze::eval::EvalError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Peer { path: PathBuf, message: String },
    #[error("the Lingua {0} test data is missing from its crate")]
    Lingua(&'static str),
}
