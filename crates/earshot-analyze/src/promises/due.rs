//! When a reply says the promise will be kept: a date ("by March 3", "15/4", "3. marts"), a
//! span ("next week", "i næste uge", "la prossima settimana", "in a few days") or a release
//! ("in version 2.4", "in the next update", "prossimo aggiornamento").

use super::lists::LangSet;
use super::words::Word;
use crate::lang::Lang;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;

/// A due hint read from a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueHint {
    /// A calendar day (the year inferred from the day the reply was written).
    Date(NaiveDate),
    /// Within this many days of the reply.
    Within(u32),
    /// A release: its version when named ("2.4"), `None` for "the next update".
    Release(Option<String>),
}

impl DueHint {
    /// The day this hint points at, counted from the day the reply was written; `None` for a
    /// release (its date is the release's).
    pub fn due_on(&self, written_on: NaiveDate) -> Option<NaiveDate> {
        match self {
            DueHint::Date(d) => Some(*d),
            DueHint::Within(days) => {
                written_on.checked_add_signed(Duration::days(i64::from(*days)))
            }
            DueHint::Release(_) => None,
        }
    }

    /// The target release an agent confirms with, if this hint names one.
    pub fn target_release(&self) -> Option<&str> {
        match self {
            DueHint::Release(v) => v.as_deref(),
            _ => None,
        }
    }
}

/// A relative phrase: a number of days, or the end of a calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Days(u32),
    EndOfWeek,
    EndOfMonth,
    EndOfYear,
}

/// The words of one language that dates are written with.
struct DueWords {
    /// Multi-word fixed phrases (`next week`), longest first.
    fixed: Vec<(Vec<&'static str>, Rel)>,
    /// Words that a previous word turns into something else (`guten morgen`, `la mañana`).
    not_after: Vec<(&'static str, &'static str)>,
    preps: Vec<Vec<&'static str>>,
    fillers: Vec<&'static str>,
    numbers: HashMap<&'static str, u32>,
    /// Word groups that mean "a few" (`et par`, `qualche`).
    few: Vec<(Vec<&'static str>, u32)>,
    /// Unit word → days (0 marks hours).
    units: HashMap<&'static str, u32>,
    months: HashMap<&'static str, u32>,
    weekdays: HashMap<&'static str, Weekday>,
    next_words: Vec<&'static str>,
    release_nouns: Vec<&'static str>,
    version_words: Vec<&'static str>,
    /// Day-first numeric dates with dots (`15.4.`) are dates in this language, not versions.
    dotted_dates: bool,
    /// Words that introduce a numeric date (`by`, `bis`, `le`).
    date_preps: Vec<&'static str>,
}

/// Raw tables: `a b=7; c=eow` style for fixed phrases, `word=n` for maps, spaces elsewhere.
struct Raw {
    lang: Lang,
    fixed: &'static str,
    not_after: &'static str,
    preps: &'static str,
    fillers: &'static str,
    numbers: &'static str,
    few: &'static str,
    units: &'static str,
    months: &'static str,
    weekdays: &'static str,
    next_words: &'static str,
    release_nouns: &'static str,
    version_words: &'static str,
    dotted_dates: bool,
    date_preps: &'static str,
}

const RAW: &[Raw] = &[
    Raw {
        lang: Lang::En,
        fixed: "tomorrow=1; today=0; tonight=0; the day after tomorrow=2; next week=7; next month=30; this week=eow; end of the week=eow; end of this week=eow; end of week=eow; the end of the week=eow; end of the month=eom; end of this month=eom; end of month=eom; end of the year=eoy; end of this year=eoy; later this year=eoy; this weekend=eow; the weekend=eow",
        not_after: "",
        preps: "in; within; in about; in around",
        fillers: "the next; the coming; the following; the; next; coming; about; around; roughly; another",
        numbers: "a=1 an=1 one=1 two=2 three=3 four=4 five=5 six=6 seven=7 eight=8 nine=9 ten=10 fourteen=14 thirty=30",
        few: "a few=3; a couple of=2; a couple=2; few=3; several=5; couple of=2",
        units: "day=1 days=1 business=1 working=1 week=7 weeks=7 month=30 months=30 hour=0 hours=0 hrs=0",
        months: "january=1 jan=1 february=2 feb=2 march=3 mar=3 april=4 apr=4 may=5 june=6 jun=6 july=7 jul=7 august=8 aug=8 september=9 sep=9 sept=9 october=10 oct=10 november=11 nov=11 december=12 dec=12",
        weekdays: "monday=1 tuesday=2 wednesday=3 thursday=4 friday=5 saturday=6 sunday=7",
        next_words: "next upcoming future coming forthcoming following later",
        release_nouns: "release update version patch build firmware",
        version_words: "version v release build update",
        dotted_dates: false,
        date_preps: "by on before until till due from",
    },
    Raw {
        lang: Lang::Da,
        fixed: "i morgen=1; imorgen=1; i dag=0; idag=0; i aften=0; i overmorgen=2; næste uge=7; i næste uge=7; næste måned=30; i næste måned=30; i denne uge=eow; denne uge=eow; i weekenden=eow; slutningen af ugen=eow; slutningen af måneden=eom; udgangen af måneden=eom; slutningen af året=eoy",
        not_after: "",
        preps: "om; inden for; indenfor; i løbet af; inden",
        fillers: "de næste; de kommende; næste; kommende; cirka; ca",
        numbers: "en=1 et=1 to=2 tre=3 fire=4 fem=5 seks=6 syv=7 otte=8 ni=9 ti=10 fjorten=14",
        few: "et par=2; nogle få=3; få=3; nogle=3",
        units: "dag=1 dage=1 dagen=1 døgn=1 hverdage=1 uge=7 uger=7 måned=30 måneder=30 time=0 timer=0",
        months: "januar=1 jan=1 februar=2 feb=2 marts=3 mar=3 april=4 apr=4 maj=5 juni=6 jun=6 juli=7 jul=7 august=8 aug=8 september=9 sep=9 oktober=10 okt=10 november=11 nov=11 december=12 dec=12",
        weekdays: "mandag=1 tirsdag=2 onsdag=3 torsdag=4 fredag=5 lørdag=6 søndag=7",
        next_words: "næste kommende fremtidig fremtidige",
        release_nouns: "opdatering opdateringen version versionen udgave release",
        version_words: "version versionen v",
        dotted_dates: true,
        date_preps: "til inden den d før senest",
    },
    Raw {
        lang: Lang::It,
        fixed: "domani=1; oggi=0; stasera=0; dopodomani=2; la prossima settimana=7; prossima settimana=7; settimana prossima=7; il prossimo mese=30; prossimo mese=30; mese prossimo=30; questa settimana=eow; entro fine settimana=eow; fine settimana=eow; fine mese=eom; entro fine mese=eom; fine anno=eoy; entro fine anno=eoy",
        not_after: "",
        preps: "tra; fra; entro; nel giro di",
        fillers: "i prossimi; le prossime; prossimi; prossime; circa",
        numbers: "un=1 uno=1 una=1 due=2 tre=3 quattro=4 cinque=5 sei=6 sette=7 otto=8 nove=9 dieci=10 quindici=15",
        few: "qualche=3; pochi=3; alcuni=3; un paio di=2",
        units: "giorno=1 giorni=1 giorno lavorativo=1 settimana=7 settimane=7 mese=30 mesi=30 ora=0 ore=0",
        months: "gennaio=1 febbraio=2 marzo=3 aprile=4 maggio=5 giugno=6 luglio=7 agosto=8 settembre=9 ottobre=10 novembre=11 dicembre=12",
        weekdays: "lunedì=1 martedì=2 mercoledì=3 giovedì=4 venerdì=5 sabato=6 domenica=7",
        next_words: "prossimo prossima futuro futura futuri prossimi",
        release_nouns: "aggiornamento versione release",
        version_words: "versione v release",
        dotted_dates: false,
        date_preps: "il entro per prima dal",
    },
    Raw {
        lang: Lang::De,
        fixed: "morgen=1; heute=0; heute abend=0; übermorgen=2; nächste woche=7; nächsten woche=7; kommende woche=7; kommenden woche=7; nächsten monat=30; nächster monat=30; kommenden monat=30; diese woche=eow; dieser woche=eow; am wochenende=eow; dieses wochenende=eow; ende der woche=eow; ende des monats=eom; ende des jahres=eoy; ende dieses monats=eom",
        not_after: "guten morgen; am morgen; den morgen; jeden morgen; der morgen",
        preps: "in; innerhalb; innerhalb von; binnen",
        fillers: "den nächsten; den kommenden; nächsten; kommenden; etwa; ca",
        numbers: "ein=1 eine=1 einem=1 einer=1 zwei=2 drei=3 vier=4 fünf=5 sechs=6 sieben=7 acht=8 neun=9 zehn=10 vierzehn=14",
        few: "ein paar=3; wenigen=3; einigen=5; paar=3",
        units: "tag=1 tage=1 tagen=1 werktagen=1 werktage=1 woche=7 wochen=7 monat=30 monate=30 monaten=30 stunde=0 stunden=0",
        months: "januar=1 jan=1 jänner=1 februar=2 feb=2 märz=3 april=4 apr=4 mai=5 juni=6 juli=7 august=8 aug=8 september=9 sept=9 oktober=10 okt=10 november=11 nov=11 dezember=12 dez=12",
        weekdays: "montag=1 dienstag=2 mittwoch=3 donnerstag=4 freitag=5 samstag=6 sonnabend=6 sonntag=7",
        next_words: "nächste nächsten nächstes kommende kommenden zukünftige zukünftigen bevorstehenden",
        release_nouns: "update updates version release aktualisierung",
        version_words: "version v release",
        dotted_dates: true,
        date_preps: "bis am zum vor ab spätestens",
    },
    Raw {
        lang: Lang::Fr,
        fixed: "demain=1; aujourd'hui=0; ce soir=0; après-demain=2; la semaine prochaine=7; semaine prochaine=7; le mois prochain=30; mois prochain=30; cette semaine=eow; fin de la semaine=eow; fin du mois=eom; fin de l année=eoy",
        not_after: "",
        preps: "dans; d ici; sous; en",
        fillers: "les prochains; les prochaines; prochains; prochaines; environ",
        numbers: "un=1 une=1 deux=2 trois=3 quatre=4 cinq=5 six=6 sept=7 huit=8 neuf=9 dix=10 quinze=15",
        few: "quelques=3; plusieurs=5",
        units: "jour=1 jours=1 semaine=7 semaines=7 mois=30 heure=0 heures=0",
        months: "janvier=1 février=2 fevrier=2 mars=3 avril=4 mai=5 juin=6 juillet=7 août=8 aout=8 septembre=9 octobre=10 novembre=11 décembre=12 decembre=12",
        weekdays: "lundi=1 mardi=2 mercredi=3 jeudi=4 vendredi=5 samedi=6 dimanche=7",
        next_words: "prochaine prochain prochaines future futur futures",
        release_nouns: "mise version versions release",
        version_words: "version v",
        dotted_dates: false,
        date_preps: "le au avant pour ici",
    },
    Raw {
        lang: Lang::Es,
        fixed: "mañana=1; hoy=0; esta noche=0; pasado mañana=2; la próxima semana=7; próxima semana=7; la semana que viene=7; semana que viene=7; el próximo mes=30; próximo mes=30; el mes que viene=30; esta semana=eow; fin de mes=eom; finales de mes=eom; final de mes=eom; fin de año=eoy",
        not_after: "la mañana; esta mañana; por la mañana; de la mañana; cada mañana",
        preps: "en; dentro de; en un plazo de",
        fillers: "los próximos; las próximas; próximos; próximas; unos; unas",
        numbers: "un=1 una=1 uno=1 dos=2 tres=3 cuatro=4 cinco=5 seis=6 siete=7 ocho=8 nueve=9 diez=10 quince=15",
        few: "unos días=3; unos pocos=3; pocos=3; algunos=3; un par de=2",
        units: "día=1 días=1 dia=1 dias=1 semana=7 semanas=7 mes=30 meses=30 hora=0 horas=0",
        months: "enero=1 febrero=2 marzo=3 abril=4 mayo=5 junio=6 julio=7 agosto=8 septiembre=9 setiembre=9 octubre=10 noviembre=11 diciembre=12",
        weekdays: "lunes=1 martes=2 miércoles=3 miercoles=3 jueves=4 viernes=5 sábado=6 sabado=6 domingo=7",
        next_words: "próxima próximo proxima proximo futura futuro próximas próximos",
        release_nouns: "actualización actualizacion versión version",
        version_words: "versión version v",
        dotted_dates: false,
        date_preps: "el para antes hasta",
    },
    Raw {
        lang: Lang::Pt,
        fixed: "amanhã=1; hoje=0; depois de amanhã=2; na próxima semana=7; próxima semana=7; semana que vem=7; no próximo mês=30; próximo mês=30; mês que vem=30; esta semana=eow; essa semana=eow; fim do mês=eom; final do mês=eom; fim do ano=eoy",
        not_after: "de manhã",
        preps: "em; dentro de; daqui a; no prazo de",
        fillers: "os próximos; as próximas; próximos; próximas; uns; umas",
        numbers: "um=1 uma=1 dois=2 duas=2 três=3 tres=3 quatro=4 cinco=5 seis=6 sete=7 oito=8 nove=9 dez=10 quinze=15",
        few: "alguns=3; poucos=3; uns dias=3",
        units: "dia=1 dias=1 semana=7 semanas=7 mês=30 mes=30 meses=30 hora=0 horas=0",
        months: "janeiro=1 fevereiro=2 março=3 marco=3 abril=4 maio=5 junho=6 julho=7 agosto=8 setembro=9 outubro=10 novembro=11 dezembro=12",
        weekdays: "segunda=1 segunda-feira=1 terça=2 terça-feira=2 quarta=3 quarta-feira=3 quinta=4 quinta-feira=4 sexta=5 sexta-feira=5 sábado=6 domingo=7",
        next_words: "próxima próximo proxima proximo futura futuro",
        release_nouns: "atualização atualizacao versão versao",
        version_words: "versão versao v",
        dotted_dates: false,
        date_preps: "dia até em antes",
    },
    Raw {
        lang: Lang::Nl,
        fixed: "morgen=1; vandaag=0; vanavond=0; overmorgen=2; volgende week=7; volgende maand=30; deze week=eow; eind van de week=eow; einde van de week=eow; eind van de maand=eom; einde van de maand=eom; eind van het jaar=eoy",
        not_after: "goede morgen; de morgen",
        preps: "over; binnen; in",
        fillers: "de komende; de volgende; komende; ongeveer",
        numbers: "een=1 één=1 twee=2 drie=3 vier=4 vijf=5 zes=6 zeven=7 acht=8 negen=9 tien=10 veertien=14",
        few: "een paar=3; enkele=3; paar=3",
        units: "dag=1 dagen=1 werkdagen=1 week=7 weken=7 maand=30 maanden=30 uur=0 uren=0",
        months: "januari=1 februari=2 maart=3 april=4 mei=5 juni=6 juli=7 augustus=8 september=9 oktober=10 november=11 december=12",
        weekdays: "maandag=1 dinsdag=2 woensdag=3 donderdag=4 vrijdag=5 zaterdag=6 zondag=7",
        next_words: "volgende komende toekomstige",
        release_nouns: "update versie release",
        version_words: "versie v",
        dotted_dates: true,
        date_preps: "op voor tegen uiterlijk",
    },
    Raw {
        lang: Lang::Sv,
        fixed: "i morgon=1; imorgon=1; i dag=0; idag=0; i kväll=0; ikväll=0; i övermorgon=2; nästa vecka=7; nästa månad=30; denna vecka=eow; den här veckan=eow; i slutet av veckan=eow; slutet av veckan=eow; slutet av månaden=eom; i slutet av månaden=eom",
        not_after: "",
        preps: "om; inom; inom loppet av",
        fillers: "de närmaste; de kommande; närmaste; kommande; cirka",
        numbers: "en=1 ett=1 två=2 tre=3 fyra=4 fem=5 sex=6 sju=7 åtta=8 nio=9 tio=10 fjorton=14",
        few: "några=3; ett par=2; par=2",
        units: "dag=1 dagar=1 dygn=1 vecka=7 veckor=7 månad=30 månader=30 timme=0 timmar=0",
        months: "januari=1 februari=2 mars=3 april=4 maj=5 juni=6 juli=7 augusti=8 september=9 oktober=10 november=11 december=12",
        weekdays: "måndag=1 tisdag=2 onsdag=3 torsdag=4 fredag=5 lördag=6 söndag=7",
        next_words: "nästa kommande framtida",
        release_nouns: "uppdatering uppdateringen version versionen",
        version_words: "version versionen v",
        dotted_dates: true,
        date_preps: "till den före senast",
    },
    Raw {
        lang: Lang::No,
        fixed: "i morgen=1; imorgen=1; i dag=0; idag=0; i kveld=0; i overmorgen=2; neste uke=7; neste måned=30; denne uken=eow; denne uka=eow; slutten av uken=eow; slutten av måneden=eom",
        not_after: "",
        preps: "om; innen; i løpet av",
        fillers: "de neste; de kommende; neste; kommende; cirka",
        numbers: "en=1 ett=1 et=1 to=2 tre=3 fire=4 fem=5 seks=6 sju=7 syv=7 åtte=8 ni=9 ti=10 fjorten=14",
        few: "noen=3; et par=2; par=2",
        units: "dag=1 dager=1 døgn=1 uke=7 uker=7 måned=30 måneder=30 time=0 timer=0",
        months: "januar=1 februar=2 mars=3 april=4 mai=5 juni=6 juli=7 august=8 september=9 oktober=10 november=11 desember=12",
        weekdays: "mandag=1 tirsdag=2 onsdag=3 torsdag=4 fredag=5 lørdag=6 søndag=7",
        next_words: "neste kommende fremtidig fremtidige",
        release_nouns: "oppdatering oppdateringen versjon versjonen",
        version_words: "versjon versjonen v",
        dotted_dates: true,
        date_preps: "til innen den før senest",
    },
];

fn pairs(s: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    s.split_whitespace().filter_map(|p| p.split_once('='))
}

fn phrases(s: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    s.split(';')
        .map(|p| p.split_whitespace().collect::<Vec<_>>())
        .filter(|p| !p.is_empty())
}

fn weekday(n: u32) -> Weekday {
    match n {
        1 => Weekday::Mon,
        2 => Weekday::Tue,
        3 => Weekday::Wed,
        4 => Weekday::Thu,
        5 => Weekday::Fri,
        6 => Weekday::Sat,
        _ => Weekday::Sun,
    }
}

impl DueWords {
    fn build(r: &Raw) -> DueWords {
        let mut fixed: Vec<(Vec<&'static str>, Rel)> = r
            .fixed
            .split(';')
            .filter_map(|p| {
                let (words, rel) = p.split_once('=')?;
                let rel = match rel.trim() {
                    "eow" => Rel::EndOfWeek,
                    "eom" => Rel::EndOfMonth,
                    "eoy" => Rel::EndOfYear,
                    n => Rel::Days(n.parse().ok()?),
                };
                Some((words.split_whitespace().collect(), rel))
            })
            .collect();
        fixed.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        let few = r
            .few
            .split(';')
            .filter_map(|p| {
                let (words, n) = p.split_once('=')?;
                Some((words.split_whitespace().collect(), n.trim().parse().ok()?))
            })
            .collect();
        let mut preps: Vec<Vec<&str>> = phrases(r.preps).collect();
        preps.sort_by_key(|p| std::cmp::Reverse(p.len()));
        DueWords {
            fixed,
            not_after: r
                .not_after
                .split(';')
                .filter_map(|p| {
                    let mut w = p.split_whitespace();
                    Some((w.next()?, w.next()?))
                })
                .collect(),
            preps,
            fillers: r
                .fillers
                .split(';')
                .flat_map(|p| p.split_whitespace())
                .collect(),
            numbers: pairs(r.numbers)
                .filter_map(|(w, n)| Some((w, n.parse().ok()?)))
                .collect(),
            few,
            units: pairs(r.units)
                .filter_map(|(w, n)| Some((w, n.parse().ok()?)))
                .collect(),
            months: pairs(r.months)
                .filter_map(|(w, n)| Some((w, n.parse().ok()?)))
                .collect(),
            weekdays: pairs(r.weekdays)
                .filter_map(|(w, n)| Some((w, weekday(n.parse().ok()?))))
                .collect(),
            next_words: r.next_words.split_whitespace().collect(),
            release_nouns: r.release_nouns.split_whitespace().collect(),
            version_words: r.version_words.split_whitespace().collect(),
            dotted_dates: r.dotted_dates,
            date_preps: r.date_preps.split_whitespace().collect(),
        }
    }
}

static WORDS: LazyLock<Vec<DueWords>> = LazyLock::new(|| {
    let mut v: Vec<Option<DueWords>> = Lang::ALL.iter().map(|_| None).collect();
    for r in RAW {
        v[r.lang.index()] = Some(DueWords::build(r));
    }
    v.into_iter()
        .map(|w| w.unwrap_or_else(|| DueWords::build(&RAW[0])))
        .collect()
});

fn langs_of(set: LangSet) -> impl Iterator<Item = &'static DueWords> {
    Lang::ALL
        .iter()
        .filter(move |l| set & l.bit() != 0)
        .map(|l| &WORDS[l.index()])
}

fn seq_at(words: &[Word], at: usize, end: usize, seq: &[&str]) -> bool {
    at + seq.len() <= end
        && seq
            .iter()
            .enumerate()
            .all(|(k, s)| words[at + k].text == *s)
}

/// The first due hint in `words[from..to]`, with the index of the word it starts at.
pub(crate) fn find(
    words: &[Word],
    from: usize,
    to: usize,
    langs: LangSet,
    written_on: NaiveDate,
) -> Option<(DueHint, usize)> {
    let to = to.min(words.len());
    (from..to).find_map(|i| hint_at(words, i, to, langs, written_on).map(|h| (h, i)))
}

fn hint_at(
    words: &[Word],
    i: usize,
    end: usize,
    langs: LangSet,
    written_on: NaiveDate,
) -> Option<DueHint> {
    let w = words[i].text.as_str();
    let prev = i.checked_sub(1).map(|p| words[p].text.as_str());
    // Numbers first: dates and versions.
    if w.starts_with(|c: char| c.is_ascii_digit()) || is_v_version(w) {
        let after_version_word =
            prev.is_some_and(|p| langs_of(langs).any(|d| d.version_words.contains(&p)));
        if is_version(w) && (after_version_word || is_v_version(w)) {
            return Some(DueHint::Release(Some(
                w.trim_start_matches('v').to_string(),
            )));
        }
        // Numeric dates need a word that introduces them ("by 15/4", "le 15/4"), so a
        // thread marker ("1/2") or a score is not read as a date; ISO dates stand alone.
        let introduced = w.len() == 10
            || prev.is_some_and(|p| langs_of(langs).any(|d| d.date_preps.contains(&p)));
        if introduced {
            if let Some(d) = numeric_date(w, langs, written_on) {
                return Some(DueHint::Date(d));
            }
        }
        if is_version(w)
            && matches!(
                prev,
                Some("in" | "with" | "i" | "en" | "em" | "nella" | "dans")
            )
        {
            return Some(DueHint::Release(Some(w.to_string())));
        }
    }
    for d in langs_of(langs) {
        if let Some(h) = month_date(words, i, end, d, written_on) {
            return Some(h);
        }
        if let Some(&wd) = d.weekdays.get(w) {
            return Some(DueHint::Date(next_weekday(written_on, wd)));
        }
        if let Some(h) = release_phrase(words, i, end, d) {
            return Some(h);
        }
        if let Some(rel) = fixed_phrase(words, i, end, d) {
            return Some(resolve(rel, written_on));
        }
        if let Some(days) = span(words, i, end, d) {
            return Some(DueHint::Within(days));
        }
    }
    None
}

fn is_v_version(w: &str) -> bool {
    w.strip_prefix('v').is_some_and(|r| {
        r.starts_with(|c: char| c.is_ascii_digit())
            && r.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

/// `2.4`, `11.2.1`, `v3`: digits and dots, at least one dot unless written with `v`.
fn is_version(w: &str) -> bool {
    if is_v_version(w) {
        return true;
    }
    let parts: Vec<&str> = w.split('.').collect();
    parts.len() >= 2
        && parts.len() <= 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn numeric_date(w: &str, langs: LangSet, written_on: NaiveDate) -> Option<NaiveDate> {
    // ISO 2024-04-15
    let dash: Vec<&str> = w.split('-').collect();
    if dash.len() == 3 && dash[0].len() == 4 {
        let (y, m, d) = (
            dash[0].parse().ok()?,
            dash[1].parse().ok()?,
            dash[2].parse().ok()?,
        );
        return NaiveDate::from_ymd_opt(y, m, d);
    }
    let (sep, dotted) = if w.contains('/') {
        ('/', false)
    } else if w.contains('.') {
        ('.', true)
    } else {
        return None;
    };
    // Day-first with dots is a date only where people write dates that way (15.4. in German).
    if dotted && !langs_of(langs).any(|d| d.dotted_dates) {
        return None;
    }
    if dotted && langs & Lang::En.bit() != 0 && langs.count_ones() == 1 {
        return None;
    }
    let parts: Vec<&str> = w.split(sep).filter(|p| !p.is_empty()).collect();
    if parts.len() < 2
        || parts.len() > 3
        || parts.iter().any(|p| !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let a: u32 = parts[0].parse().ok()?;
    let b: u32 = parts[1].parse().ok()?;
    let year: Option<i32> = match parts.get(2) {
        Some(y) if y.len() == 2 => y.parse::<i32>().ok().map(|y| 2000 + y),
        Some(y) if y.len() == 4 => y.parse().ok(),
        Some(_) => return None,
        None => None,
    };
    // English writers (mostly US brands on Twitter) put the month first when both fit.
    let month_first = langs & Lang::En.bit() != 0 && langs.count_ones() == 1;
    let (day, month) = if month_first && a <= 12 && b <= 31 {
        (b, a)
    } else if a <= 31 && b <= 12 {
        (a, b)
    } else if a <= 12 && b <= 31 {
        (b, a)
    } else {
        return None;
    };
    build_date(year, month, day, written_on)
}

/// A date in the given (or inferred) year: a promise is due on or after the day it was made,
/// so a day already past this year means next year.
fn build_date(year: Option<i32>, month: u32, day: u32, written_on: NaiveDate) -> Option<NaiveDate> {
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day),
        None => {
            let this = NaiveDate::from_ymd_opt(written_on.year(), month, day)?;
            if this < written_on {
                NaiveDate::from_ymd_opt(written_on.year() + 1, month, day)
            } else {
                Some(this)
            }
        }
    }
}

fn day_number(w: &str) -> Option<u32> {
    let digits: String = w.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = &w[digits.len()..];
    if digits.is_empty()
        || !matches!(
            rest,
            "" | "st" | "nd" | "rd" | "th" | "." | "er" | "e" | "º" | "o"
        )
    {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    (1..=31).contains(&n).then_some(n)
}

fn year_at(words: &[Word], at: usize, end: usize) -> Option<i32> {
    if at >= end {
        return None;
    }
    let w = &words[at].text;
    (w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()))
        .then(|| w.parse().ok())
        .flatten()
}

/// `march 3`, `march 3rd 2025`, `3 march`, `3rd of march`, `3. marts`, `15 de abril`.
fn month_date(
    words: &[Word],
    i: usize,
    end: usize,
    d: &DueWords,
    written_on: NaiveDate,
) -> Option<DueHint> {
    let w = words[i].text.as_str();
    if let Some(&month) = d.months.get(w) {
        if i + 1 < end {
            if let Some(day) = day_number(&words[i + 1].text) {
                let year = year_at(words, i + 2, end);
                return build_date(year, month, day, written_on).map(DueHint::Date);
            }
        }
        return None;
    }
    let day = day_number(w)?;
    let mut j = i + 1;
    while j < end
        && matches!(words[j].text.as_str(), "of" | "de" | "di" | "del" | "af")
        && j < i + 3
    {
        j += 1;
    }
    if j < end {
        if let Some(&month) = d.months.get(words[j].text.as_str()) {
            let mut k = j + 1;
            if k < end && words[k].text == "de" {
                k += 1;
            }
            let year = year_at(words, k, end);
            return build_date(year, month, day, written_on).map(DueHint::Date);
        }
    }
    None
}

fn next_weekday(from: NaiveDate, wd: Weekday) -> NaiveDate {
    let ahead =
        (7 + wd.num_days_from_monday() as i64 - from.weekday().num_days_from_monday() as i64) % 7;
    let ahead = if ahead == 0 { 7 } else { ahead };
    from + Duration::days(ahead)
}

/// "the next update", "an upcoming release", "prossimo aggiornamento", "prochaine mise à jour".
fn release_phrase(words: &[Word], i: usize, end: usize, d: &DueWords) -> Option<DueHint> {
    let w = words[i].text.as_str();
    let is_noun = |t: &str| {
        d.release_nouns.contains(&t) || WORDS[Lang::En.index()].release_nouns.contains(&t)
    };
    if d.next_words.contains(&w) {
        for k in 1..=2 {
            if i + k < end && is_noun(&words[i + k].text) {
                return Some(DueHint::Release(None));
            }
        }
    }
    if is_noun(w) && i + 1 < end && d.next_words.contains(&words[i + 1].text.as_str()) {
        return Some(DueHint::Release(None));
    }
    None
}

fn fixed_phrase(words: &[Word], i: usize, end: usize, d: &DueWords) -> Option<Rel> {
    for (seq, rel) in &d.fixed {
        if seq_at(words, i, end, seq) {
            if let Some(p) = i.checked_sub(1) {
                let prev = words[p].text.as_str();
                if d.not_after.iter().any(|(a, b)| *a == prev && *b == seq[0]) {
                    continue;
                }
            }
            return Some(*rel);
        }
    }
    None
}

/// `in 3 days`, `within two weeks`, `in a few days`, `om et par dage`, `entro 10 giorni`.
fn span(words: &[Word], i: usize, end: usize, d: &DueWords) -> Option<u32> {
    let prep = d.preps.iter().find(|p| seq_at(words, i, end, p))?;
    let mut j = i + prep.len();
    let mut filled = false;
    for _ in 0..3 {
        if j < end && d.fillers.contains(&words[j].text.as_str()) {
            j += 1;
            filled = true;
        }
    }
    let mut n: Option<u32> = None;
    if j < end {
        let w = words[j].text.as_str();
        // "a few" before "a": the few-phrases start with number words.
        if let Some((seq, v)) = d.few.iter().find(|(seq, _)| seq_at(words, j, end, seq)) {
            // "unos días" carries its unit inside the phrase.
            let has_unit = seq.last().is_some_and(|l| d.units.contains_key(l));
            n = Some(*v);
            j += seq.len();
            if has_unit {
                return Some(*v);
            }
        } else if let Ok(v) = w.parse::<u32>() {
            n = Some(v);
            j += 1;
        } else if let Some(&v) = d.numbers.get(w) {
            n = Some(v);
            j += 1;
        }
    }
    let unit_word = words.get(j).filter(|_| j < end)?.text.as_str();
    let unit = *d.units.get(unit_word)?;
    // "in the coming days": a filler with a plural unit and no number means a few.
    let n = match n {
        Some(n) => n,
        None if filled => 3,
        None => return None,
    };
    if unit == 0 {
        return Some(n.div_ceil(24));
    }
    n.checked_mul(unit)
}

fn resolve(rel: Rel, written_on: NaiveDate) -> DueHint {
    match rel {
        Rel::Days(n) => DueHint::Within(n),
        Rel::EndOfWeek => {
            let to_sunday = 6 - written_on.weekday().num_days_from_monday();
            DueHint::Within(to_sunday)
        }
        Rel::EndOfMonth => {
            let (y, m) = (written_on.year(), written_on.month());
            let first_next = if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)
            };
            match first_next.and_then(|f| f.pred_opt()) {
                Some(last) => DueHint::Date(last),
                None => DueHint::Within(30),
            }
        }
        Rel::EndOfYear => match NaiveDate::from_ymd_opt(written_on.year(), 12, 31) {
            Some(d) => DueHint::Date(d),
            None => DueHint::Within(365),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
