use crate::model::AppError;
use leptos::prelude::*;

#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    view! { <p class="error" role="alert">{error.to_string()}</p> }
}
