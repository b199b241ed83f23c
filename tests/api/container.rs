//! The Dockerfile and docker-compose.yml, read as the files they are (no
//! container engine runs here): the runtime stage is non-root with a
//! HEALTHCHECK, and the stack's settings are ones the service accepts and point
//! at the stack's own PostgreSQL, Redis and Mailpit.

use serde_json::Value;

use crate::helpers::*;

fn read(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `KEY=value` settings as the flags the configuration also takes.
fn as_flags(settings: &[(String, String)]) -> Vec<String> {
    settings
        .iter()
        .flat_map(|(key, value)| {
            let flag = format!("--{}", key.to_lowercase().replace('_', "-"));
            [flag, value.clone()]
        })
        .collect()
}

#[test]
fn the_runtime_image_runs_as_a_non_root_user_with_a_healthcheck() {
    let dockerfile = read("Dockerfile");
    let stages: Vec<&str> = dockerfile.split("\nFROM ").collect();
    assert!(stages.len() >= 3, "a build stage and a runtime stage");
    let runtime = stages.last().expect("a runtime stage");
    let user = runtime
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER in the runtime stage");
    assert!(
        !["root", "0", "root:root", "0:0"].contains(&user.trim()),
        "{user}"
    );
    assert!(
        runtime.contains("CMD [\"/usr/local/bin/auth-service\", \"healthcheck\"]"),
        "{runtime}"
    );
    assert!(runtime.contains("HEALTHCHECK "), "{runtime}");

    // Its ENV is a configuration the service accepts.
    let env_block = runtime
        .split("\nENV ")
        .nth(1)
        .expect("ENV")
        .split("\nVOLUME")
        .next()
        .expect("ENV block");
    let settings: Vec<(String, String)> = env_block
        .split([' ', '\\', '\n'])
        .filter_map(|word| word.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert!(
        settings
            .iter()
            .any(|(k, v)| k == "BIND_ADDR" && v == "0.0.0.0"),
        "{settings:?}"
    );
    let flags = as_flags(&settings);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    test_config("sqlite://unused.db", "smtp://127.0.0.1:25", &flags);
}

#[test]
fn compose_runs_the_service_with_postgres_redis_and_mailpit() {
    let compose: Value = yaml_serde::from_str(&read("docker-compose.yml")).expect("YAML");
    let services = compose["services"].as_object().expect("services");
    let mut names: Vec<&str> = services.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["auth", "mailpit", "postgres", "redis"]);
    assert_eq!(services["auth"]["build"], ".");
    assert!(
        services["postgres"]["image"]
            .as_str()
            .expect("image")
            .starts_with("postgres:")
    );
    assert!(
        services["redis"]["image"]
            .as_str()
            .expect("image")
            .starts_with("redis:")
    );
    assert!(
        services["mailpit"]["image"]
            .as_str()
            .expect("image")
            .starts_with("axllent/mailpit:")
    );
    assert_eq!(
        services["mailpit"]["ports"][0], "8025:8025",
        "the web inbox is published"
    );

    let env = services["auth"]["environment"]
        .as_object()
        .expect("environment");
    let url = |key: &str| url::Url::parse(env[key].as_str().expect(key)).expect(key);
    assert_eq!(url("DATABASE_URL").host_str(), Some("postgres"));
    assert_eq!(url("REDIS_URL").host_str(), Some("redis"));
    assert_eq!(url("SMTP_URL").host_str(), Some("mailpit"));
    assert_eq!(url("SMTP_URL").port(), Some(1025));
    // The environment is a configuration the service accepts.
    let settings: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_owned()))
        .collect();
    let flags = as_flags(&settings);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let config = test_config("sqlite://unused.db", "smtp://127.0.0.1:25", &flags);
    config.validate().expect("a valid configuration");
}
