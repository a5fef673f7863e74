//! The visitors' pages in their language: English, German and French, chosen from `?lang=` (the
//! switch on the page, a plain link that works without JavaScript) or else `Accept-Language`
//! with its q-values; anything else falls back to English.
//!
//! A small hand-written catalogue rather than a crate (Fluent, gettext): about sixty short
//! texts in three languages, no plurals beyond "{seconds} seconds", and the pages must stay a
//! few kilobytes; a table in Rust is checked by the compiler and by
//! `every_text_exists_in_every_language`. The operator's own texts (branding, `PRIVACY_TEXT`)
//! are shown as written; left at their defaults they come from here in the visitor's language.
//!
//! May call: nothing else of the crate.

/// A language of the visitors' pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    #[default]
    En,
    De,
    Fr,
}

impl Lang {
    pub(crate) const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Fr];

    /// The language tag (`en`), as in `?lang=` and `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Fr => "Français",
        }
    }

    /// A tag's language when we have it: `de-CH` and `DE` are German.
    pub(crate) fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The language of a page: the explicit choice if it names one of ours, else the best of
    /// `Accept-Language`, else English.
    pub(crate) fn choose(param: Option<&str>, accept_language: Option<&str>) -> Lang {
        param.and_then(Lang::from_tag).or_else(|| accept_language.and_then(negotiate)).unwrap_or_default()
    }

    /// The text `key` in this language (English when a translation were missing).
    /// Milliseconds as seconds to a tenth, written the language's way ("3.4", "3,4").
    pub(crate) fn seconds(self, milliseconds: u64) -> String {
        let text = format!("{:.1}", milliseconds as f64 / 1000.0);
        match self {
            Lang::En => text,
            Lang::De | Lang::Fr => text.replace('.', ","),
        }
    }

    pub fn t(self, key: Text) -> &'static str {
        lookup(self, key).or_else(|| lookup(Lang::En, key)).unwrap_or("")
    }
}

/// The best language of an `Accept-Language` header (RFC 9110 §12.5.4): highest q first, the
/// earlier entry on a tie, `q=0` never; `*` means English. `None` when nothing fits.
pub(crate) fn negotiate(header: &str) -> Option<Lang> {
    let mut best: Option<(u16, Lang)> = None;
    for entry in header.split(',').take(32) {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let mut quality = 1000u16;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                quality = parse_quality(value.trim()).unwrap_or(0);
            }
        }
        let lang = if tag == "*" { Some(Lang::En) } else { Lang::from_tag(tag) };
        if let Some(lang) = lang
            && quality > 0
            && best.is_none_or(|(q, _)| quality > q)
        {
            best = Some((quality, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// A q-value in thousandths (`0.8` → 800), or `None` when malformed.
fn parse_quality(value: &str) -> Option<u16> {
    let number: f64 = value.parse().ok().filter(|q: &f64| (0.0..=1.0).contains(q))?;
    Some((number * 1000.0).round() as u16)
}

/// Every text of the visitors' pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::enum_variant_names,
    reason = "a page's `…Title` and its paragraph, `…Text`, come in pairs; the suffix names the paragraph"
)]
pub enum Text {
    DefaultTitle,
    DefaultIntro,
    DefaultPrize,
    DefaultDrawTime,
    PrizeLabel,
    RequiredLegend,
    Name,
    Email,
    Company,
    JobPosition,
    Phone,
    Country,
    Notes,
    Consent,
    PrivacyLink,
    Submit,
    CheckFields,
    ErrRequired,
    ErrTooLong,
    ErrNotAllowed,
    ErrEmail,
    ErrPhone,
    ErrCountry,
    ErrConsent,
    StoreFailed,
    TooManyTitle,
    TooManyText,
    UnreadableTitle,
    UnreadableText,
    ReloadTitle,
    CsrfMissing,
    CsrfInvalid,
    NotFoundTitle,
    NotFoundText,
    BackToForm,
    ThanksTitle,
    ThanksText,
    YourCode,
    CodeHint,
    NextTitle,
    DrawLabel,
    WinnerHint,
    AlreadyTitle,
    AlreadyText,
    ThisEvent,
    Language,
    PressTitle,
    PressText,
    PressButton,
    PressedTitle,
    PressedText,
    PressUsedTitle,
    PressUsedText,
    PressOffTitle,
    PressOffText,
    PressUnknownTitle,
    PressUnknownText,
    PressCoolingTitle,
    PressCoolingText,
    PressNothingTitle,
    PressNothingText,
    PressFailedTitle,
    PressFailedText,
    PressHeldTitle,
    PressHeldText,
    PressPressingTitle,
    PressPressingText,
    PressUpdates,
    PressYourPod,
    PressHealedTitle,
    PressBackIn,
    PressHealedText,
    PressUntimedTitle,
    PressUntimedText,
}

impl Text {
    #[cfg(test)]
    const ALL: [Text; 74] = [
        Text::DefaultTitle,
        Text::DefaultIntro,
        Text::DefaultPrize,
        Text::DefaultDrawTime,
        Text::PrizeLabel,
        Text::RequiredLegend,
        Text::Name,
        Text::Email,
        Text::Company,
        Text::JobPosition,
        Text::Phone,
        Text::Country,
        Text::Notes,
        Text::Consent,
        Text::PrivacyLink,
        Text::Submit,
        Text::CheckFields,
        Text::ErrRequired,
        Text::ErrTooLong,
        Text::ErrNotAllowed,
        Text::ErrEmail,
        Text::ErrPhone,
        Text::ErrCountry,
        Text::ErrConsent,
        Text::StoreFailed,
        Text::TooManyTitle,
        Text::TooManyText,
        Text::UnreadableTitle,
        Text::UnreadableText,
        Text::ReloadTitle,
        Text::CsrfMissing,
        Text::CsrfInvalid,
        Text::NotFoundTitle,
        Text::NotFoundText,
        Text::BackToForm,
        Text::ThanksTitle,
        Text::ThanksText,
        Text::YourCode,
        Text::CodeHint,
        Text::NextTitle,
        Text::DrawLabel,
        Text::WinnerHint,
        Text::AlreadyTitle,
        Text::AlreadyText,
        Text::ThisEvent,
        Text::Language,
        Text::PressTitle,
        Text::PressText,
        Text::PressButton,
        Text::PressedTitle,
        Text::PressedText,
        Text::PressUsedTitle,
        Text::PressUsedText,
        Text::PressOffTitle,
        Text::PressOffText,
        Text::PressUnknownTitle,
        Text::PressUnknownText,
        Text::PressCoolingTitle,
        Text::PressCoolingText,
        Text::PressNothingTitle,
        Text::PressNothingText,
        Text::PressFailedTitle,
        Text::PressFailedText,
        Text::PressHeldTitle,
        Text::PressHeldText,
        Text::PressPressingTitle,
        Text::PressPressingText,
        Text::PressUpdates,
        Text::PressYourPod,
        Text::PressHealedTitle,
        Text::PressBackIn,
        Text::PressHealedText,
        Text::PressUntimedTitle,
        Text::PressUntimedText,
    ];
}

fn lookup(lang: Lang, key: Text) -> Option<&'static str> {
    let table = match lang {
        Lang::En => EN,
        Lang::De => DE,
        Lang::Fr => FR,
    };
    table.iter().find(|(k, _)| *k == key).map(|(_, text)| *text)
}

/// The English consent text, also `PRIVACY_TEXT`'s default (left at it, the visitor's
/// language is shown instead).
pub(crate) const CONSENT_EN: &str = "I agree that my details are stored to contact me about my request.";

const EN: &[(Text, &str)] = &[
    (Text::DefaultTitle, "Sign up and win"),
    (
        Text::DefaultIntro,
        "Leave your details and we will get in touch about Kubernetes at the edge. Every sign-up takes part in today's raffle.",
    ),
    (Text::DefaultPrize, "A Raspberry Pi 5 starter kit"),
    (Text::DefaultDrawTime, "Today at 17:00 at our booth"),
    (Text::PrizeLabel, "Today's prize"),
    (Text::RequiredLegend, "Fields marked * are required."),
    (Text::Name, "Name"),
    (Text::Email, "E-mail"),
    (Text::Company, "Company"),
    (Text::JobPosition, "Job position"),
    (Text::Phone, "Phone"),
    (Text::Country, "Country"),
    (Text::Notes, "What can we help you with?"),
    (Text::Consent, CONSENT_EN),
    (Text::PrivacyLink, "Privacy policy"),
    (Text::Submit, "Sign up and enter the raffle"),
    (Text::CheckFields, "Please check the fields marked below."),
    (Text::ErrRequired, "This field is required."),
    (Text::ErrTooLong, "Please keep this under {max} characters."),
    (Text::ErrNotAllowed, "This field contains characters that are not allowed."),
    (Text::ErrEmail, "Please enter a valid e-mail address, like name@example.com."),
    (Text::ErrPhone, "Please enter a phone number of digits, spaces and + ( ) - . / only."),
    (Text::ErrCountry, "Please choose a country from the list."),
    (Text::ErrConsent, "Please agree so that we may contact you."),
    (Text::StoreFailed, "We could not save your details just now. Please press Send again in a moment."),
    (Text::TooManyTitle, "Too many submissions"),
    (Text::TooManyText, "Please wait {seconds} seconds and try again."),
    (Text::UnreadableTitle, "Unreadable form"),
    (Text::UnreadableText, "The form could not be read. Please try again."),
    (Text::ReloadTitle, "Please reload the form"),
    (Text::CsrfMissing, "the form's security token is missing; reload the page and submit again"),
    (Text::CsrfInvalid, "the form's security token is not valid; reload the page and submit again"),
    (Text::NotFoundTitle, "Not found"),
    (Text::NotFoundText, "There is nothing here."),
    (Text::BackToForm, "Back to the form"),
    (Text::ThanksTitle, "Thank you, {name}!"),
    (Text::ThanksText, "We received your details and will be in touch."),
    (Text::YourCode, "Your raffle code"),
    (Text::CodeHint, "It is printed on your ticket. We call out the winner by this code."),
    (Text::NextTitle, "What happens next"),
    (Text::DrawLabel, "The draw"),
    (Text::WinnerHint, "The winner appears on the big screen at our booth."),
    (Text::AlreadyTitle, "You already signed up"),
    (
        Text::AlreadyText,
        "We already have your details for {campaign}, {name}. No need to send them again — we will be in touch.",
    ),
    (Text::ThisEvent, "this event"),
    (Text::Language, "Language"),
    (Text::PressTitle, "Your bonus: the red button"),
    (
        Text::PressText,
        "Your sign-up earned one press of our chaos button. It deletes a random pod of the booth's cluster, live on the big screen, and Kubernetes brings it back.",
    ),
    (Text::PressButton, "Press the red button"),
    (Text::PressedTitle, "Boom!"),
    (Text::PressedText, "You deleted pod {pod}. Watch the big screen: Kubernetes is already bringing it back."),
    (Text::PressUsedTitle, "Already pressed"),
    (Text::PressUsedText, "This press has been used. Each sign-up earns one."),
    (Text::PressOffTitle, "The button is resting"),
    (Text::PressOffText, "Pressing from phones is switched off right now."),
    (Text::PressUnknownTitle, "Unknown link"),
    (Text::PressUnknownText, "This button link is not valid. Sign up at the booth to earn a press."),
    (Text::PressCoolingTitle, "Just pressed"),
    (Text::PressCoolingText, "Someone just pressed it. Try again in {seconds} seconds: your press is still yours."),
    (Text::PressNothingTitle, "Nothing to delete"),
    (Text::PressNothingText, "No pod can be deleted right now. Try again in a moment: your press is still yours."),
    (Text::PressFailedTitle, "The button did not work"),
    (Text::PressFailedText, "The cluster refused this time. Try again in a moment: your press is still yours."),
    (Text::PressHeldTitle, "Kubernetes said no"),
    (
        Text::PressHeldText,
        "The disruption budget {budget} keeps enough pods healthy, and right now it needs every one it has. Watch the big screen: the budget held. Your press is still yours: try again in a few seconds, once Kubernetes has brought the others back.",
    ),
    (Text::PressPressingTitle, "Pressing…"),
    (Text::PressPressingText, "Your press is under way."),
    (Text::PressUpdates, "This page updates by itself."),
    (Text::PressYourPod, "The pod your press took"),
    (Text::PressHealedTitle, "Kubernetes healed it"),
    (Text::PressBackIn, "Back in"),
    (
        Text::PressHealedText,
        "Kubernetes noticed the pod was gone, started a new one of the same name and had it Ready again in {seconds} seconds, with nobody touching a thing.",
    ),
    (Text::PressUntimedTitle, "Back again"),
    (Text::PressUntimedText, "Kubernetes brought it back, but this once the booth could not time how long it took."),
];

const DE: &[(Text, &str)] = &[
    (Text::DefaultTitle, "Anmelden und gewinnen"),
    (
        Text::DefaultIntro,
        "Hinterlassen Sie Ihre Kontaktdaten, und wir melden uns zu Kubernetes am Edge. Jede Anmeldung nimmt an der heutigen Verlosung teil.",
    ),
    (Text::DefaultPrize, "Ein Raspberry Pi 5 Starter-Kit"),
    (Text::DefaultDrawTime, "Heute um 17:00 Uhr an unserem Stand"),
    (Text::PrizeLabel, "Heute zu gewinnen"),
    (Text::RequiredLegend, "Mit * markierte Felder sind Pflichtfelder."),
    (Text::Name, "Name"),
    (Text::Email, "E-Mail"),
    (Text::Company, "Firma"),
    (Text::JobPosition, "Position"),
    (Text::Phone, "Telefon"),
    (Text::Country, "Land"),
    (Text::Notes, "Wobei können wir Ihnen helfen?"),
    (
        Text::Consent,
        "Ich bin einverstanden, dass meine Angaben gespeichert werden, um mich zu meiner Anfrage zu kontaktieren.",
    ),
    (Text::PrivacyLink, "Datenschutzerklärung"),
    (Text::Submit, "Anmelden und mitmachen"),
    (Text::CheckFields, "Bitte prüfen Sie die markierten Felder."),
    (Text::ErrRequired, "Dieses Feld ist erforderlich."),
    (Text::ErrTooLong, "Bitte höchstens {max} Zeichen."),
    (Text::ErrNotAllowed, "Dieses Feld enthält unzulässige Zeichen."),
    (Text::ErrEmail, "Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@example.com."),
    (Text::ErrPhone, "Bitte geben Sie eine Telefonnummer nur aus Ziffern, Leerzeichen und + ( ) - . / ein."),
    (Text::ErrCountry, "Bitte wählen Sie ein Land aus der Liste."),
    (Text::ErrConsent, "Bitte stimmen Sie zu, damit wir Sie kontaktieren dürfen."),
    (
        Text::StoreFailed,
        "Wir konnten Ihre Angaben gerade nicht speichern. Bitte senden Sie das Formular gleich noch einmal.",
    ),
    (Text::TooManyTitle, "Zu viele Anfragen"),
    (Text::TooManyText, "Bitte warten Sie {seconds} Sekunden und versuchen Sie es erneut."),
    (Text::UnreadableTitle, "Formular nicht lesbar"),
    (Text::UnreadableText, "Das Formular konnte nicht gelesen werden. Bitte versuchen Sie es erneut."),
    (Text::ReloadTitle, "Bitte laden Sie das Formular neu"),
    (
        Text::CsrfMissing,
        "Das Sicherheitsmerkmal des Formulars fehlt; bitte laden Sie die Seite neu und senden Sie erneut.",
    ),
    (
        Text::CsrfInvalid,
        "Das Sicherheitsmerkmal des Formulars ist ungültig; bitte laden Sie die Seite neu und senden Sie erneut.",
    ),
    (Text::NotFoundTitle, "Nicht gefunden"),
    (Text::NotFoundText, "Hier gibt es nichts."),
    (Text::BackToForm, "Zurück zum Formular"),
    (Text::ThanksTitle, "Danke, {name}!"),
    (Text::ThanksText, "Wir haben Ihre Angaben erhalten und melden uns bei Ihnen."),
    (Text::YourCode, "Ihr Los-Code"),
    (Text::CodeHint, "Er steht auf Ihrem Los. Wir rufen den Gewinner mit diesem Code auf."),
    (Text::NextTitle, "Wie es weitergeht"),
    (Text::DrawLabel, "Die Verlosung"),
    (Text::WinnerHint, "Der Gewinner erscheint auf dem großen Bildschirm an unserem Stand."),
    (Text::AlreadyTitle, "Sie sind bereits angemeldet"),
    (
        Text::AlreadyText,
        "Wir haben Ihre Angaben für {campaign} bereits, {name}. Sie müssen sie nicht erneut senden – wir melden uns.",
    ),
    (Text::ThisEvent, "diese Veranstaltung"),
    (Text::Language, "Sprache"),
    (Text::PressTitle, "Ihr Bonus: der rote Knopf"),
    (
        Text::PressText,
        "Ihre Anmeldung bringt Ihnen einen Druck auf unseren Chaos-Knopf. Er löscht einen zufälligen Pod im Cluster am Stand, live auf dem großen Bildschirm, und Kubernetes holt ihn zurück.",
    ),
    (Text::PressButton, "Den roten Knopf drücken"),
    (Text::PressedTitle, "Bumm!"),
    (
        Text::PressedText,
        "Sie haben den Pod {pod} gelöscht. Schauen Sie auf den Bildschirm: Kubernetes holt ihn schon zurück.",
    ),
    (Text::PressUsedTitle, "Schon gedrückt"),
    (Text::PressUsedText, "Dieser Druck wurde schon eingelöst. Jede Anmeldung bringt einen."),
    (Text::PressOffTitle, "Der Knopf ruht"),
    (Text::PressOffText, "Das Drücken vom Telefon aus ist gerade ausgeschaltet."),
    (Text::PressUnknownTitle, "Unbekannter Link"),
    (
        Text::PressUnknownText,
        "Dieser Knopf-Link ist ungültig. Melden Sie sich am Stand an, um einen Druck zu gewinnen.",
    ),
    (Text::PressCoolingTitle, "Gerade gedrückt"),
    (
        Text::PressCoolingText,
        "Jemand hat gerade gedrückt. Versuchen Sie es in {seconds} Sekunden erneut: Ihr Druck bleibt Ihnen.",
    ),
    (Text::PressNothingTitle, "Nichts zu löschen"),
    (
        Text::PressNothingText,
        "Gerade kann kein Pod gelöscht werden. Versuchen Sie es gleich noch einmal: Ihr Druck bleibt Ihnen.",
    ),
    (Text::PressFailedTitle, "Der Knopf hat nicht funktioniert"),
    (Text::PressFailedText, "Der Cluster hat abgelehnt. Versuchen Sie es gleich noch einmal: Ihr Druck bleibt Ihnen."),
    (Text::PressHeldTitle, "Kubernetes sagt Nein"),
    (
        Text::PressHeldText,
        "Das Disruption Budget {budget} hält genug Pods gesund, und gerade braucht es jeden, den es hat. Schauen Sie auf den Bildschirm: Das Budget hat gehalten. Ihr Druck bleibt Ihnen: Versuchen Sie es in ein paar Sekunden erneut, wenn Kubernetes die anderen zurückgeholt hat.",
    ),
    (Text::PressPressingTitle, "Wird gedrückt …"),
    (Text::PressPressingText, "Ihr Druck ist unterwegs."),
    (Text::PressUpdates, "Diese Seite aktualisiert sich selbst."),
    (Text::PressYourPod, "Der Pod, den Ihr Druck traf"),
    (Text::PressHealedTitle, "Kubernetes hat ihn geheilt"),
    (Text::PressBackIn, "Zurück in"),
    (
        Text::PressHealedText,
        "Kubernetes hat bemerkt, dass der Pod fehlte, einen neuen mit demselben Namen gestartet und ihn in {seconds} Sekunden wieder bereit gemacht, ohne dass jemand etwas anfassen musste.",
    ),
    (Text::PressUntimedTitle, "Wieder da"),
    (
        Text::PressUntimedText,
        "Kubernetes hat ihn zurückgeholt, aber diesmal konnte der Stand nicht messen, wie lange es dauerte.",
    ),
];

const FR: &[(Text, &str)] = &[
    (Text::DefaultTitle, "Inscrivez-vous et gagnez"),
    (
        Text::DefaultIntro,
        "Laissez vos coordonnées et nous vous recontacterons au sujet de Kubernetes en périphérie. Chaque inscription participe au tirage au sort du jour.",
    ),
    (Text::DefaultPrize, "Un kit de démarrage Raspberry Pi 5"),
    (Text::DefaultDrawTime, "Aujourd'hui à 17 h sur notre stand"),
    (Text::PrizeLabel, "À gagner aujourd'hui"),
    (Text::RequiredLegend, "Les champs marqués * sont obligatoires."),
    (Text::Name, "Nom"),
    (Text::Email, "E-mail"),
    (Text::Company, "Entreprise"),
    (Text::JobPosition, "Fonction"),
    (Text::Phone, "Téléphone"),
    (Text::Country, "Pays"),
    (Text::Notes, "Comment pouvons-nous vous aider ?"),
    (Text::Consent, "J'accepte que mes données soient enregistrées afin d'être recontacté(e) au sujet de ma demande."),
    (Text::PrivacyLink, "Politique de confidentialité"),
    (Text::Submit, "M'inscrire et participer"),
    (Text::CheckFields, "Veuillez vérifier les champs signalés ci-dessous."),
    (Text::ErrRequired, "Ce champ est obligatoire."),
    (Text::ErrTooLong, "Veuillez ne pas dépasser {max} caractères."),
    (Text::ErrNotAllowed, "Ce champ contient des caractères non autorisés."),
    (Text::ErrEmail, "Veuillez saisir une adresse e-mail valide, par exemple nom@example.com."),
    (Text::ErrPhone, "Veuillez saisir un numéro composé uniquement de chiffres, d'espaces et de + ( ) - . /."),
    (Text::ErrCountry, "Veuillez choisir un pays dans la liste."),
    (Text::ErrConsent, "Veuillez accepter afin que nous puissions vous contacter."),
    (
        Text::StoreFailed,
        "Nous n'avons pas pu enregistrer vos données. Veuillez renvoyer le formulaire dans un instant.",
    ),
    (Text::TooManyTitle, "Trop de tentatives"),
    (Text::TooManyText, "Veuillez patienter {seconds} secondes et réessayer."),
    (Text::UnreadableTitle, "Formulaire illisible"),
    (Text::UnreadableText, "Le formulaire n'a pas pu être lu. Veuillez réessayer."),
    (Text::ReloadTitle, "Veuillez recharger le formulaire"),
    (Text::CsrfMissing, "Le jeton de sécurité du formulaire manque ; rechargez la page et envoyez-le à nouveau."),
    (
        Text::CsrfInvalid,
        "Le jeton de sécurité du formulaire n'est pas valide ; rechargez la page et envoyez-le à nouveau.",
    ),
    (Text::NotFoundTitle, "Introuvable"),
    (Text::NotFoundText, "Il n'y a rien ici."),
    (Text::BackToForm, "Retour au formulaire"),
    (Text::ThanksTitle, "Merci, {name} !"),
    (Text::ThanksText, "Nous avons bien reçu vos coordonnées et vous recontacterons."),
    (Text::YourCode, "Votre code de tirage"),
    (Text::CodeHint, "Il figure sur votre ticket. Nous annonçons le gagnant par ce code."),
    (Text::NextTitle, "Et ensuite ?"),
    (Text::DrawLabel, "Le tirage"),
    (Text::WinnerHint, "Le gagnant s'affiche sur le grand écran de notre stand."),
    (Text::AlreadyTitle, "Vous êtes déjà inscrit(e)"),
    (
        Text::AlreadyText,
        "Nous avons déjà vos coordonnées pour {campaign}, {name}. Inutile de les renvoyer : nous vous recontacterons.",
    ),
    (Text::ThisEvent, "cet événement"),
    (Text::Language, "Langue"),
    (Text::PressTitle, "Votre bonus : le bouton rouge"),
    (
        Text::PressText,
        "Votre inscription vous donne droit à une pression sur notre bouton du chaos. Il supprime un pod au hasard du cluster du stand, en direct sur le grand écran, et Kubernetes le relance.",
    ),
    (Text::PressButton, "Appuyer sur le bouton rouge"),
    (Text::PressedTitle, "Boum !"),
    (Text::PressedText, "Vous avez supprimé le pod {pod}. Regardez le grand écran : Kubernetes le relance déjà."),
    (Text::PressUsedTitle, "Déjà utilisé"),
    (Text::PressUsedText, "Cette pression a déjà été utilisée. Chaque inscription en donne une."),
    (Text::PressOffTitle, "Le bouton se repose"),
    (Text::PressOffText, "Appuyer depuis un téléphone est désactivé pour le moment."),
    (Text::PressUnknownTitle, "Lien inconnu"),
    (Text::PressUnknownText, "Ce lien n'est pas valide. Inscrivez-vous sur le stand pour gagner une pression."),
    (Text::PressCoolingTitle, "Tout juste utilisé"),
    (
        Text::PressCoolingText,
        "Quelqu'un vient d'appuyer. Réessayez dans {seconds} secondes : votre pression vous reste.",
    ),
    (Text::PressNothingTitle, "Rien à supprimer"),
    (
        Text::PressNothingText,
        "Aucun pod ne peut être supprimé pour le moment. Réessayez dans un instant : votre pression vous reste.",
    ),
    (Text::PressFailedTitle, "Le bouton n'a pas fonctionné"),
    (Text::PressFailedText, "Le cluster a refusé. Réessayez dans un instant : votre pression vous reste."),
    (Text::PressHeldTitle, "Kubernetes a dit non"),
    (
        Text::PressHeldText,
        "Le budget de perturbation {budget} garde assez de pods en bonne santé, et il a besoin de chacun d'eux en ce moment. Regardez le grand écran : le budget a tenu. Votre pression vous reste : réessayez dans quelques secondes, quand Kubernetes aura relancé les autres.",
    ),
    (Text::PressPressingTitle, "Pression en cours…"),
    (Text::PressPressingText, "Votre pression est en route."),
    (Text::PressUpdates, "Cette page se met à jour toute seule."),
    (Text::PressYourPod, "Le pod touché par votre pression"),
    (Text::PressHealedTitle, "Kubernetes l'a guéri"),
    (Text::PressBackIn, "De retour en"),
    (
        Text::PressHealedText,
        "Kubernetes a remarqué que le pod manquait, en a démarré un nouveau du même nom et l'a remis en service en {seconds} secondes, sans que personne ne touche à rien.",
    ),
    (Text::PressUntimedTitle, "De retour"),
    (
        Text::PressUntimedText,
        "Kubernetes l'a relancé, mais cette fois le stand n'a pas pu mesurer combien de temps cela a pris.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_every_language() {
        for lang in Lang::ALL {
            for key in Text::ALL {
                let text = lookup(lang, key).unwrap_or_else(|| panic!("{key:?} missing in {lang:?}"));
                assert!(!text.trim().is_empty(), "{key:?} empty in {lang:?}");
                // The same placeholders in every language.
                for placeholder in ["{max}", "{seconds}", "{name}", "{pod}", "{campaign}", "{budget}"] {
                    assert_eq!(
                        text.contains(placeholder),
                        lookup(Lang::En, key).unwrap().contains(placeholder),
                        "{key:?} in {lang:?}: {placeholder}"
                    );
                }
            }
            let table = match lang {
                Lang::En => EN,
                Lang::De => DE,
                Lang::Fr => FR,
            };
            assert_eq!(table.len(), Text::ALL.len(), "{lang:?} has no stray or doubled texts");
        }
    }

    #[test]
    fn accept_language_is_negotiated_by_q_value() {
        assert_eq!(negotiate("de-CH,de;q=0.9,en;q=0.8"), Some(Lang::De));
        assert_eq!(negotiate("en;q=0.5, fr;q=0.9"), Some(Lang::Fr));
        assert_eq!(negotiate("it-CH, it;q=0.9, de;q=0.3"), Some(Lang::De), "the best we have");
        assert_eq!(negotiate("it, es"), None);
        assert_eq!(negotiate("de;q=0, fr;q=0.1"), Some(Lang::Fr), "q=0 means not acceptable");
        assert_eq!(negotiate("fr;q=0.5, de;q=0.5"), Some(Lang::Fr), "the earlier wins a tie");
        assert_eq!(negotiate("*"), Some(Lang::En));
        assert_eq!(negotiate("de;q=banana, en"), Some(Lang::En), "a malformed q counts as 0");
        assert_eq!(negotiate(""), None);
        assert_eq!(Lang::choose(Some("fr"), Some("de")), Lang::Fr, "the switch wins");
        assert_eq!(Lang::choose(Some("xx"), Some("de")), Lang::De);
        assert_eq!(Lang::choose(None, Some("ja")), Lang::En, "unknown falls back to English");
        assert_eq!(Lang::De.t(Text::Submit), "Anmelden und mitmachen");
    }
}
