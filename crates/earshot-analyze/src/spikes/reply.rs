//! A draft for the one answer an agent sends to everyone in a spike, in the spike's language,
//! naming what it is about. A hint to edit, not a promise: it says the team is looking, not
//! what will happen.

use super::Spike;

/// `{terms}` is replaced by the spike's label terms ("flights roskilde, festival").
fn template(lang: &str) -> &'static str {
    match lang {
        "da" => "Hej! Vi kan se, at mange af jer spørger om {terms} lige nu. Tak for tålmodigheden – vi ser på det og skriver en opdatering her, så snart vi ved mere.",
        "no" => "Hei! Vi ser at mange av dere spør om {terms} akkurat nå. Takk for tålmodigheten – vi ser på det og legger ut en oppdatering her så snart vi vet mer.",
        "sv" => "Hej! Vi ser att många av er frågar om {terms} just nu. Tack för ert tålamod – vi tittar på det och uppdaterar här så snart vi vet mer.",
        "de" => "Hallo! Gerade fragen uns viele von euch nach {terms}. Danke für eure Geduld – wir kümmern uns darum und melden uns hier, sobald wir mehr wissen.",
        "nl" => "Hoi! We zien dat velen van jullie nu vragen naar {terms}. Bedankt voor jullie geduld – we kijken ernaar en plaatsen hier een update zodra we meer weten.",
        "fr" => "Bonjour ! Vous êtes nombreux à nous interroger sur {terms} en ce moment. Merci de votre patience : nous regardons cela et publierons une mise à jour ici dès que possible.",
        "es" => "¡Hola! Muchos nos estáis preguntando por {terms} ahora mismo. Gracias por vuestra paciencia: lo estamos revisando y publicaremos una actualización aquí en cuanto sepamos más.",
        "pt" => "Olá! Muitos de vocês estão perguntando sobre {terms} agora. Obrigado pela paciência: estamos verificando e publicaremos uma atualização aqui assim que soubermos mais.",
        "it" => "Ciao! In tanti ci state chiedendo di {terms} in questo momento. Grazie per la pazienza: ci stiamo lavorando e pubblicheremo un aggiornamento qui appena ne sapremo di più.",
        _ => "Hi! We can see a lot of you are asking about {terms} right now. Thanks for your patience – we're looking into it and will post an update here as soon as we know more.",
    }
}

/// The draft of a bulk reply for `spike`, in its most common language (English otherwise).
pub fn suggest_bulk_reply(spike: &Spike) -> String {
    let terms = if spike.label_terms.is_empty() {
        match spike.language.as_deref() {
            Some("da") | Some("no") => "det samme".to_string(),
            Some("sv") => "samma sak".to_string(),
            Some("de") => "dasselbe Thema".to_string(),
            Some("nl") => "hetzelfde".to_string(),
            Some("fr") => "le même sujet".to_string(),
            Some("es") => "este tema".to_string(),
            Some("pt") => "este assunto".to_string(),
            Some("it") => "questo tema".to_string(),
            _ => "the same thing".to_string(),
        }
    } else {
        spike
            .label_terms
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    template(spike.language.as_deref().unwrap_or("en")).replace("{terms}", &terms)
}
