//! Services against a real database (one fresh database per test).

use crate::common;

use verdict::model::project::{ChatRole, Message, NewItem, NewResponse};
use verdict::model::user::{NewUser, Role};
use verdict::server::services::{self, Actor};
use verdict::server::{Error, seed};

#[sqlx::test]
async fn services_refuse_annotators_admin_work(pool: sqlx::PgPool) {
    seed::seed_demo(&pool, None).await.unwrap();
    let ann = sqlx::query_scalar::<_, uuid::Uuid>("SELECT user_id FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let actor = Actor {
        user_id: ann,
        role: Role::Annotator,
        grant: None,
    };
    assert!(matches!(
        services::users::list(&pool, &actor).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        services::projects::items_page(&pool, &actor, "demo", None).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        services::users::set_disabled(&pool, &actor, ann, true).await,
        Err(Error::Forbidden)
    ));
    assert_eq!(
        services::projects::list(&pool, &actor).await.unwrap().len(),
        1
    );
}

#[sqlx::test]
async fn the_first_admin_is_created_once(pool: sqlx::PgPool) {
    let created = services::users::ensure_first_admin(&pool, "boss@example.org", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.user.role, Role::Admin);
    assert_eq!(created.password.len(), 20);
    assert!(
        services::users::ensure_first_admin(&pool, "boss@example.org", None)
            .await
            .unwrap()
            .is_none()
    );
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$"),
        "only an argon2id hash is stored"
    );
    assert!(!stored.contains(&created.password));
}

#[sqlx::test]
async fn the_demo_seed_is_idempotent(pool: sqlx::PgPool) {
    let first = seed::seed_demo(&pool, None).await.unwrap();
    assert_eq!(first.items_added, 20);
    assert!(first.annotator.is_some());
    let second = seed::seed_demo(&pool, None).await.unwrap();
    assert_eq!(second.items_added, 0);
    assert!(second.annotator.is_none());
    let (items, answers): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM responses)")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(items, 20);
    assert!((40..=80).contains(&answers), "{answers}");
}

#[sqlx::test]
async fn the_demo_has_chats_and_rich_markdown(pool: sqlx::PgPool) {
    seed::seed_demo(&pool, None).await.unwrap();
    let page = services::projects::items_page(&pool, &admin(&pool).await, "demo", None)
        .await
        .unwrap();
    let multi_turn = page.items.iter().filter(|i| i.messages.len() > 1).count();
    assert!(multi_turn >= 5, "{multi_turn} chats");
    let all_answers: String = page
        .items
        .iter()
        .flat_map(|i| &i.responses)
        .map(|r| r.content.as_str())
        .collect();
    assert!(all_answers.contains("```"), "code blocks");
    assert!(
        all_answers.contains("|---") || all_answers.contains("| ---"),
        "tables"
    );
}

async fn admin(pool: &sqlx::PgPool) -> Actor {
    let new = NewUser::parse(
        "boss@example.org",
        "Boss",
        "a long test password",
        Role::Admin,
    )
    .unwrap();
    {
        let user = services::users::create_account(pool, new).await.unwrap();
        common::join_every_project(pool, &user).await;
        Actor::from(&user)
    }
}

fn item(external_id: &str, answers: usize) -> NewItem {
    NewItem {
        external_id: Some(external_id.to_owned()),
        messages: vec![Message {
            role: ChatRole::User,
            content: "Question?".into(),
        }],
        responses: (0..answers)
            .map(|i| NewResponse {
                model: None,
                content: format!("answer {i}"),
            })
            .collect(),
        metadata: serde_json::json!({}),
        gold: None,
    }
}

#[sqlx::test]
async fn items_are_paged_in_insertion_order(pool: sqlx::PgPool) {
    seed::seed_demo(&pool, None).await.unwrap();
    let project_id: uuid::Uuid =
        sqlx::query_scalar("SELECT project_id FROM projects WHERE slug = 'demo'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for n in 0..10 {
        services::items::add(&mut conn, project_id, &item(&format!("extra-{n}"), 2))
            .await
            .unwrap()
            .unwrap();
    }
    drop(conn);
    let actor = admin(&pool).await;
    let first = services::projects::items_page(&pool, &actor, "demo", None)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 25);
    assert_eq!(first.project.item_count, 30);
    let second = services::projects::items_page(&pool, &actor, "demo", first.next_after)
        .await
        .unwrap();
    assert_eq!(second.items.len(), 5);
    assert!(second.next_after.is_none());
    assert_eq!(
        second.items.last().unwrap().external_id.as_deref(),
        Some("extra-9")
    );
    let seqs: Vec<i64> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|i| i.item_seq)
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[sqlx::test]
async fn an_invalid_item_stores_nothing(pool: sqlx::PgPool) {
    seed::seed_demo(&pool, None).await.unwrap();
    let project_id: uuid::Uuid =
        sqlx::query_scalar("SELECT project_id FROM projects WHERE slug = 'demo'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let err = services::items::add(&mut conn, project_id, &item("bad", 1))
        .await
        .unwrap_err();
    match err {
        Error::Invalid(e) => assert_eq!(e.field.as_deref(), Some("responses")),
        other => panic!("{other:?}"),
    }
    let duplicate = services::items::add(&mut conn, project_id, &item("demo-01", 2))
        .await
        .unwrap();
    assert!(
        duplicate.is_none(),
        "an existing external_id is not added twice"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(count, 20);
}
