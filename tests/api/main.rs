//! One integration-test binary: real HTTP against the app on 127.0.0.1:0, a fresh
//! PostgreSQL database per test, a real SMTP server receiving the mail.

mod helpers;
mod smtp;

mod hygiene;
mod login;
mod logout;
mod openapi;
mod refresh;
mod register;
mod tokens;
mod verify_email;
