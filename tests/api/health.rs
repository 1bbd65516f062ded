use crate::on_both_backends;

on_both_backends! {
    async fn health_and_readiness_answer_ok_when_the_database_is_up(app) {
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        assert_eq!(ready.text().await.unwrap(), "ready");
    }

    async fn graphiql_is_served_at_the_root(app) {
        let page = app.client.get(app.url("/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.to_lowercase().contains("graphiql"));
        assert!(html.contains("/graphql"));
    }

    async fn readiness_fails_once_the_database_is_gone(app) {
        app.db.clone().close().await.unwrap();
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
    }
}
