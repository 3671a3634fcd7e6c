//! The client side of SASL: [`ClientAuth`], one exchange as a pure state
//! machine.

use super::scram::{ScramClient, escape_saslname};
use super::{ChannelBinding, Credentials, Mechanism, SaslError, saslprep};

#[derive(Debug, Clone)]
enum State {
    Plain(Option<Vec<u8>>),
    External(Option<Vec<u8>>),
    Anonymous(bool),
    Scram(Box<ScramClient>),
}

/// One SASL exchange on the client side: a pure state machine.
///
/// ```
/// use xmpp_sansio::sasl::{ChannelBinding, ClientAuth, Credentials, Mechanism};
/// let c = Credentials { username: "juliet".into(), password: "r0m30".into(), authzid: None };
/// let mut auth = ClientAuth::new(Mechanism::Plain, &c, &ChannelBinding::None, "", false).unwrap();
/// assert_eq!(auth.initial_response().unwrap(), Some(b"\0juliet\0r0m30".to_vec()));
/// auth.finish(None).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ClientAuth {
    mechanism: Mechanism,
    state: State,
}

impl ClientAuth {
    /// Starts an exchange. `client_nonce` (SCRAM) must be printable ASCII
    /// without `,`, from the caller's random source. `server_offered_plus`
    /// says whether any -PLUS form was offered: it decides the GS2 flag of
    /// a non-PLUS SCRAM run with binding data (`y` only when none was).
    pub fn new(
        mechanism: Mechanism,
        credentials: &Credentials,
        binding: &ChannelBinding,
        client_nonce: &str,
        server_offered_plus: bool,
    ) -> Result<Self, SaslError> {
        let state = match mechanism {
            Mechanism::Plain => {
                for (what, value) in [
                    ("username", credentials.username.as_str()),
                    ("password", credentials.password.as_str()),
                    ("authzid", credentials.authzid.as_deref().unwrap_or("")),
                ] {
                    if value.contains('\0') {
                        return Err(SaslError::InvalidCredentials(what));
                    }
                }
                let mut msg = credentials.authzid.clone().unwrap_or_default().into_bytes();
                msg.push(0);
                msg.extend_from_slice(credentials.username.as_bytes());
                msg.push(0);
                msg.extend_from_slice(credentials.password.as_bytes());
                State::Plain(Some(msg))
            }
            Mechanism::External => State::External(Some(
                credentials.authzid.clone().unwrap_or_default().into_bytes(),
            )),
            Mechanism::Anonymous => State::Anonymous(false),
            _ => {
                let Some(hash) = mechanism.scram_hash() else {
                    return Err(SaslError::UnexpectedChallenge);
                };
                if client_nonce.is_empty()
                    || !client_nonce
                        .bytes()
                        .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
                {
                    return Err(SaslError::InvalidNonce);
                }
                let (flag, cb_data) = if mechanism.uses_channel_binding() {
                    let name = binding
                        .type_name()
                        .ok_or(SaslError::ChannelBindingRequired)?;
                    (format!("p={name}"), binding.data().to_vec())
                } else if binding.type_name().is_some() && !server_offered_plus {
                    ("y".to_owned(), Vec::new())
                } else {
                    ("n".to_owned(), Vec::new())
                };
                let authzid = match &credentials.authzid {
                    Some(a) => format!("a={}", escape_saslname(&saslprep(a, "authzid")?)),
                    None => String::new(),
                };
                let username = saslprep(&credentials.username, "username")?;
                let password = saslprep(&credentials.password, "password")?;
                let gs2 = format!("{flag},{authzid},");
                State::Scram(Box::new(ScramClient::new(
                    hash,
                    &username,
                    &password,
                    gs2,
                    cb_data,
                    client_nonce,
                )))
            }
        };
        Ok(Self { mechanism, state })
    }

    /// Caps the SCRAM iteration count the server may ask for (the default
    /// is [`DEFAULT_MAX_ITERATIONS`](super::DEFAULT_MAX_ITERATIONS)); above it, the challenge is refused
    /// with [`SaslError::TooManyIterations`]. Other mechanisms ignore it.
    ///
    /// ```
    /// use xmpp_sansio::sasl::{ChannelBinding, ClientAuth, Credentials, Mechanism, SaslError};
    /// let c = Credentials { username: "user".into(), password: "pencil".into(), authzid: None };
    /// let mut auth = ClientAuth::new(Mechanism::ScramSha256, &c, &ChannelBinding::None, "abc", false)?
    ///     .with_max_iterations(10_000);
    /// auth.initial_response()?;
    /// assert_eq!(
    ///     auth.respond(b"r=abcdef,s=c2FsdA==,i=10001"),
    ///     Err(SaslError::TooManyIterations { iterations: 10_001, max: 10_000 })
    /// );
    /// # Ok::<(), SaslError>(())
    /// ```
    #[must_use]
    pub fn with_max_iterations(mut self, max: u32) -> Self {
        if let State::Scram(s) = &mut self.state {
            s.set_max_iterations(max);
        }
        self
    }

    /// The mechanism.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The initial response, raw (not base64). `Some(vec![])` is an empty
    /// one (sent as `=`); every mechanism here sends one.
    pub fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        Ok(match &mut self.state {
            State::Plain(msg) | State::External(msg) => Some(msg.take().unwrap_or_default()),
            State::Anonymous(sent) => {
                *sent = true;
                Some(Vec::new())
            }
            State::Scram(s) => Some(s.client_first()),
        })
    }

    /// Answers a challenge.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        match &mut self.state {
            State::Scram(s) => s.respond(challenge),
            // These mechanisms have no challenges; an empty one is answered
            // with nothing (some servers send one before success).
            _ if challenge.is_empty() => Ok(Vec::new()),
            _ => Err(SaslError::UnexpectedChallenge),
        }
    }

    /// Handles `<success/>` and its additional data. For SCRAM this is where
    /// the server proves it knows the password; a wrong proof is an error.
    pub fn finish(&mut self, additional_data: Option<&[u8]>) -> Result<(), SaslError> {
        match &mut self.state {
            State::Scram(s) => s.finish(additional_data),
            _ => Ok(()),
        }
    }
}
