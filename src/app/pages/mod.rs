pub mod history;
pub mod home;
pub mod label;
pub mod login;
pub mod not_found;
pub mod project_items;
pub mod project_settings;
pub mod users;
