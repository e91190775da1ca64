pub mod error_box;
pub mod markdown;
pub mod nav;
pub mod require_user;
pub mod workspace;
