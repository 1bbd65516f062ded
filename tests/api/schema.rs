#[test]
fn schema_graphql_is_what_the_code_exports() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the top of the repository");
    let exported = stockroute::graphql::sdl();
    assert!(
        committed == exported,
        "schema.graphql is out of date: run `cargo run -- export-schema > schema.graphql`"
    );
}

#[test]
fn export_schema_prints_the_sdl() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stockroute"))
        .arg("export-schema")
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        stockroute::graphql::sdl()
    );
}
