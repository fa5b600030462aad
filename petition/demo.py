"""The demo petition: the IOC campaign, with signatures from many countries and scripts."""

import datetime as dt
import random

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select, update

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.petitions import counting, texts
from petition.petitions.models import Milestone, Petition, Signature

SLUG = "ioc-speak-out"

TEXT = """\
The Olympic Charter says that every individual must be able to practise sport
**without discrimination of any kind**. A new law punishes people simply for saying
that gay and lesbian lives are equal.

We call on the International Olympic Committee to:

1. speak out publicly against the law before the Games open;
2. obtain written guarantees that athletes, fans and journalists will be safe;
3. make non-discrimination a binding condition for every future host city.

We will carry every signature, printed, to the IOC's headquarters in Lausanne, and
supporters will hold *Speak Out* events in 33 cities on the same day.
"""

SHARE_TEXT = "I signed: the IOC must speak out against the anti-gay law before the Games."

# The demo petition in more languages: one count for all of them (petitions/texts.py).
VERSIONS = {
    "es": (
        "COI: pronúnciate contra la ley antigay antes de los Juegos",
        """\
La Carta Olímpica dice que toda persona debe poder practicar deporte **sin
discriminación de ningún tipo**. Una nueva ley castiga a la gente solo por decir que
las vidas de gais y lesbianas valen lo mismo.

Pedimos al Comité Olímpico Internacional que:

1. se pronuncie públicamente contra la ley antes de la inauguración de los Juegos;
2. obtenga garantías por escrito de que deportistas, aficionados y periodistas estarán
   a salvo;
3. haga de la no discriminación una condición obligatoria para toda futura ciudad
   anfitriona.

Llevaremos cada firma, impresa, a la sede del COI en Lausana, y ese mismo día
simpatizantes de 33 ciudades celebrarán actos *Speak Out*.
""",
        "He firmado: el COI debe pronunciarse contra la ley antigay antes de los Juegos.",
    ),
    "fr": (
        "CIO : prenez position contre la loi anti-gay avant les Jeux",
        """\
La Charte olympique affirme que chacun doit pouvoir pratiquer le sport **sans
discrimination d’aucune sorte**. Une nouvelle loi punit des personnes pour avoir
simplement dit que la vie des gays et des lesbiennes vaut celle de tout le monde.

Nous demandons au Comité international olympique :

1. de prendre publiquement position contre cette loi avant l’ouverture des Jeux ;
2. d’obtenir des garanties écrites pour la sécurité des athlètes, du public et des
   journalistes ;
3. de faire de la non-discrimination une condition impérative pour toute future ville
   hôte.

Nous remettrons chaque signature, imprimée, au siège du CIO à Lausanne, et le même
jour des sympathisant·es organiseront des rassemblements *Speak Out* dans 33 villes.
""",
        "J’ai signé : le CIO doit prendre position contre la loi anti-gay avant les Jeux.",
    ),
    "ru": (
        "МОК: выступите против антигейского закона до начала Игр",
        """\
Олимпийская хартия гласит, что каждый человек должен иметь возможность заниматься
спортом **без какой бы то ни было дискриминации**. Новый закон наказывает людей
только за слова о том, что жизнь геев и лесбиянок ничем не хуже других.

Мы призываем Международный олимпийский комитет:

1. до открытия Игр публично выступить против этого закона;
2. получить письменные гарантии безопасности для спортсменов, болельщиков и
   журналистов;
3. сделать недопущение дискриминации обязательным условием для каждого будущего
   города-хозяина.

Мы отнесём каждую подпись, в распечатанном виде, в штаб-квартиру МОК в Лозанне, а в
тот же день сторонники проведут акции «Speak Out» в 33 городах.
""",
        "Я подписал(а): МОК должен выступить против антигейского закона до начала Игр.",
    ),
    "de": (
        "IOC: Bezieht Stellung gegen das Anti-Homosexuellen-Gesetz – vor den Spielen",
        """\
Die Olympische Charta sagt: Jeder Mensch muss Sport treiben können, **ohne
Diskriminierung jeglicher Art**. Ein neues Gesetz bestraft Menschen schon dafür, dass
sie sagen, schwules und lesbisches Leben sei gleichwertig.

Wir fordern das Internationale Olympische Komitee auf:

1. sich vor der Eröffnung der Spiele öffentlich gegen das Gesetz auszusprechen;
2. schriftlich zusichern zu lassen, dass Athlet*innen, Fans und Journalist*innen
   sicher sind;
3. Nichtdiskriminierung zur verbindlichen Bedingung für jede künftige
   Gastgeberstadt zu machen.

Wir bringen jede Unterschrift ausgedruckt zum Sitz des IOC in Lausanne, und am selben
Tag laden Unterstützer*innen in 33 Städten zu *Speak Out*-Aktionen ein.
""",
        "Ich habe unterschrieben: Das IOC muss vor den Spielen gegen das "
        "Anti-Homosexuellen-Gesetz Stellung beziehen.",
    ),
    "pt": (
        "COI: posicione-se contra a lei anti-gay antes dos Jogos",
        """\
A Carta Olímpica diz que toda pessoa deve poder praticar esporte **sem discriminação
de qualquer tipo**. Uma nova lei pune pessoas simplesmente por dizerem que a vida de
gays e lésbicas tem o mesmo valor.

Pedimos ao Comitê Olímpico Internacional que:

1. se posicione publicamente contra a lei antes da abertura dos Jogos;
2. obtenha garantias por escrito de que atletas, torcedores e jornalistas estarão
   seguros;
3. torne a não discriminação uma condição obrigatória para toda futura cidade-sede.

Vamos levar cada assinatura, impressa, à sede do COI em Lausanne, e no mesmo dia
apoiadores vão realizar atos *Speak Out* em 33 cidades.
""",
        "Eu assinei: o COI precisa se posicionar contra a lei anti-gay antes dos Jogos.",
    ),
    "ar": (
        "اللجنة الأولمبية الدولية: ارفعي صوتك ضد قانون معاداة المثليين قبل الألعاب",
        """\
ينص الميثاق الأولمبي على أن لكل إنسان الحق في ممارسة الرياضة **دون أي شكل من أشكال
التمييز**. غير أن قانونًا جديدًا يعاقب الناس لمجرد قولهم إن حياة المثليين والمثليات
تساوي حياة غيرهم.

ندعو اللجنة الأولمبية الدولية إلى:

1. إعلان موقفها علنًا ضد هذا القانون قبل افتتاح الألعاب؛
2. الحصول على ضمانات مكتوبة بسلامة الرياضيين والمشجعين والصحفيين؛
3. جعل عدم التمييز شرطًا ملزمًا لكل مدينة مستضيفة في المستقبل.

سنحمل كل توقيع، مطبوعًا، إلى مقر اللجنة في لوزان، وفي اليوم نفسه سينظم المؤيدون
فعاليات *Speak Out* في 33 مدينة.
""",
        "وقّعتُ: على اللجنة الأولمبية الدولية أن ترفع صوتها ضد قانون معاداة المثليين قبل الألعاب.",
    ),
}

MILESTONES = [
    (250, "First delivery to the IOC in Lausanne"),
    (1_000, "Speak Out events confirmed in 33 cities"),
    (100_000, "Press conference at the Olympic Museum"),
    (300_000, "Deliver to the IOC at 300,000"),
]

# Names as people write them, in their own scripts; each with a city in that country.
PEOPLE = {
    "RU": (
        ["Алексей Смирнов", "Мария Иванова", "Дмитрий Кузнецов", "Ольга Попова"],
        ["Москва", "Санкт-Петербург", "Казань"],
    ),
    "UA": (["Олена Шевченко", "Андрій Коваленко"], ["Київ", "Львів"]),
    "GR": (["Γιώργος Παπαδόπουλος", "Ελένη Νικολάου"], ["Αθήνα", "Θεσσαλονίκη"]),
    "IL": (["נועה כהן", "יונתן לוי"], ["תל אביב", "חיפה"]),
    "EG": (["أحمد حسن", "فاطمة علي"], ["القاهرة", "الإسكندرية"]),
    "IR": (["سارا محمدی", "علی رضایی"], ["تهران", "شیراز"]),
    "IN": (["प्रिया शर्मा", "अर्जुन पटेल", "அனிதா ராமன்"], ["मुंबई", "दिल्ली", "சென்னை"]),
    "TH": (["สมชาย ใจดี", "มาลี ศรีสุข"], ["กรุงเทพมหานคร", "เชียงใหม่"]),
    "JP": (["佐藤 花子", "鈴木 一郎"], ["東京", "大阪"]),
    "CN": (["王伟", "李娜"], ["北京", "上海"]),
    "KR": (["김민준", "이서연"], ["서울", "부산"]),
    "BR": (["João da Silva", "Ana Luísa Gonçalves"], ["São Paulo", "Rio de Janeiro"]),
    "FR": (["Zoé Lefèvre", "François Müller-Crépin"], ["Paris", "Lyon"]),
    "DE": (["Jürgen Weiß", "Anna Schröder"], ["Berlin", "Köln"]),
    "ES": (["Begoña Núñez", "José Ángel García"], ["Madrid", "Barcelona"]),
    "IE": (["Siobhán Ó Briain", "Ciarán MacAodha"], ["Dublin", "Cork"]),
    "GB": (["Olivia Smith", "Kwame Mensah"], ["London", "Manchester"]),
    "US": (["Emily Johnson", "Carlos Ramírez"], ["New York", "San Francisco"]),
    "CA": (["Chloé Tremblay", "Liam O'Connor"], ["Toronto", "Montréal"]),
    "ZA": (["Thandiwe Nkosi", "Pieter van der Merwe"], ["Cape Town", "Johannesburg"]),
    "TR": (["Ayşe Yılmaz", "Mehmet Öztürk"], ["İstanbul", "Ankara"]),
    "PL": (["Małgorzata Wiśniewska", "Łukasz Wójcik"], ["Warszawa", "Kraków"]),
    "VN": (["Nguyễn Thị Hương", "Trần Văn Đức"], ["Hà Nội", "Thành phố Hồ Chí Minh"]),
    "GE": (["ნინო ბერიძე", "გიორგი კაპანაძე"], ["თბილისი"]),
    "AM": (["Անի Հակոբյան"], ["Երևան"]),
    "ET": (["አበበ በቀለ"], ["አዲስ አበባ"]),
    "CH": (["Lea Graf", "Noah Keller"], ["Lausanne", "Zürich"]),
}

SIGNATURES = 340

DAY_SLUG = "global-speak-out"

TOOLKIT = """\
1. **Find a good place.** A Russian embassy or consulate, the parliament, the city chambers or
   a busy town square: somewhere people see you and the press can find you.
2. **Pick an exact time, after office hours**, so that people can come after work (18:00 is
   a good start).
3. **Check whether the local authority needs a permit** for a gathering in that place, and
   apply in time.
4. **Spread the word**: share your event's page, print the poster, tell local groups and the
   press.
"""

REQUIREMENTS = (
    "I will check whether the local authority needs a permit, and apply for one if it does.",
    "The event will be peaceful and open to everyone.",
)

SLOGANS = ("Speak Out For Russia", "Love is an Olympic value")

# (city, country, venue, local start, details to come); the online event has no city.
DAY_EVENTS = [
    ("Asunción", "PY", "Plaza de la Democracia", "18:00", False),
    ("Barcelona", "ES", "Plaça de Sant Jaume", "19:00", False),
    ("Dublin", "IE", "Outside the Russian embassy, Orwell Road", "18:00", False),
    ("Galway", "IE", "", "18:00", True),
    ("Gothenburg", "SE", "Gustaf Adolfs torg", "17:30", False),
    ("London", "GB", "Parliament Square", "18:30", False),
    ("Mexico City", "MX", "Monumento a la Revolución", "18:00", False),
    ("New York", "US", "Dag Hammarskjöld Plaza", "18:00", False),
    ("Toronto", "CA", "Nathan Phillips Square", "18:00", False),
    ("Vancouver", "CA", "", "18:00", True),
    ("Berlin", "DE", "Unter den Linden, near the embassy", "18:00", False),
    ("Paris", "FR", "Place de la République", "18:30", False),
    ("Madrid", "ES", "Puerta del Sol", "19:30", False),
    ("São Paulo", "BR", "Avenida Paulista, MASP", "18:00", False),
    ("Buenos Aires", "AR", "Plaza de Mayo", "18:00", False),
    ("Sydney", "AU", "Town Hall steps", "18:00", False),
    ("Tokyo", "JP", "Hibiya Park", "18:00", False),
    ("Cape Town", "ZA", "Company's Garden", "17:30", False),
    ("Lausanne", "CH", "Outside the Olympic Museum", "18:00", False),
    ("Amsterdam", "NL", "Dam Square", "18:00", False),
    ("Stockholm", "SE", "Sergels torg", "18:00", False),
]


def create_demo(seed=2013):
    """Create the demo petition if missing; return (created, petition). The caller commits."""
    existing = db.session.execute(select(Petition).where(Petition.slug == SLUG)).scalar()
    if existing:
        return False, existing
    from petition.petitions.manage import create_petition

    petition = create_petition(
        SLUG,
        "IOC: speak out against the anti-gay law before the Games",
        "The International Olympic Committee",
        TEXT,
        MILESTONES,
        open_it=True,
        hashtag="#SpeakOut",
        share_text=SHARE_TEXT,
    )
    db.session.flush()
    for language, (title, text, share_text) in VERSIONS.items():
        if language in current_app.config["LANGUAGES"]:
            texts.publish(
                petition,
                language,
                current_app.config["LANGUAGES"],
                title=title,
                text=text,
                share_text=share_text,
            )
    rng = random.Random(seed)  # noqa: S311 demo data, not secrets
    start = utcnow() - dt.timedelta(days=10)
    countries = sorted(PEOPLE)
    for i in range(SIGNATURES):
        country = countries[i % len(countries)] if i < len(countries) else rng.choice(countries)
        names, cities = PEOPLE[country]
        created = start + dt.timedelta(minutes=i * 40 + rng.randrange(30))
        email = f"demo{i}@example.org"
        db.session.add(
            Signature(
                petition_id=petition.id,
                name=rng.choice(names),
                email=email,
                canonical_email=email,
                country=country,
                city=rng.choice(cities),
                updates=rng.random() < 0.4,
                source="demo",
                state="confirmed",
                created_at=created,
                confirmed_at=created + dt.timedelta(minutes=rng.randrange(1, 120)),
            )
        )
    db.session.flush()
    _, reached = counting.recount(petition)
    # The demo's history is not news: mark its milestones told without mailing anyone.
    db.session.execute(
        update(Milestone).where(Milestone.id.in_(reached)).values(announced_at=utcnow())
    )
    day = create_demo_day(petition)
    create_demo_endorsers(petition, day)
    return True, petition


# Made-up organisations in many scripts (none is a real one): (name, website, country,
# statement, logo colours or None, endorses the day rather than the petition).
ENDORSERS = [
    (
        "Rainbow Sports Alliance",
        "rainbow-sports.example.org",
        "US",
        "Sport is for everyone: the IOC must say so now.",
        ("#e40303", "#ff8c00", "#ffed00", "#008026", "#004dff", "#750787"),
        False,
    ),
    (
        "Fédération sportive Arc-en-ciel",
        "arc-en-ciel.example.org",
        "FR",
        "Nous soutenons les athlètes qui refusent de se taire.",
        ("#5bcefa", "#f5a9b8", "#ffffff"),
        False,
    ),
    (
        "Радужный спортивный союз",
        "raduga-sport.example.org",
        "RU",
        "",
        ("#750787", "#004dff"),
        False,
    ),
    ("Orgullo Deportivo", "orgullo-deportivo.example.org", "ES", "", None, False),
    (
        "جمعية الرياضة للجميع",
        "sport-for-all.example.org",
        "LB",
        "الرياضة حق للجميع.",
        ("#008026", "#ffffff"),
        False,
    ),
    ("פורום הספורט הגאה", "pride-sport-forum.example.org", "IL", "", None, False),
    ("彩虹运动联盟", "caihong.example.org", "TW", "", ("#ff8c00", "#e40303"), False),
    ("무지개 스포츠 연대", "mujigae.example.org", "KR", "", None, False),
    (
        "Pride Athletes Berlin",
        "pride-athletes-berlin.example.org",
        "DE",
        "We will be at the Brandenburg Gate on the day.",
        ("#000000", "#dd0000", "#ffce00"),
        True,
    ),
    ("Queer Runners Lausanne", "queer-runners.example.org", "CH", "", None, True),
]


def demo_logo(colours):
    """A made-up logo: stripes of the given colours in a rounded square (a PNG)."""
    import io

    from PIL import Image, ImageDraw

    size = 240
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    stripes = Image.new("RGBA", (size, size))
    draw = ImageDraw.Draw(stripes)
    band = size / len(colours)
    for i, colour in enumerate(colours):
        draw.rectangle((0, round(i * band), size, round((i + 1) * band)), fill=colour)
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size - 1, size - 1), radius=48, fill=255)
    img.paste(stripes, mask=mask)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def create_demo_endorsers(petition, day):
    """The demo's endorsers, approved (logos through the upload path), and one waiting."""
    from petition.endorsements import operations as endorsements
    from petition.endorsements.models import Endorsement

    config = current_app.config
    for name, site, country, statement, colours, for_day in ENDORSERS:
        url, domain = endorsements.normalize_website(site)
        logo = endorsements.store_logo(demo_logo(colours), config) if colours else None
        endorsements.add_by_staff(
            day if for_day else petition,
            endorsements.EndorsementData(
                name=name, website=url, domain=domain, country=country, statement=statement
            ),
            config,
            logo=logo,
            added_by="demo",
        )
    # One that came through the form and was confirmed (no mail: the demo sends none): staff
    # find it in their queue.
    now = utcnow()
    db.session.add(
        Endorsement(
            petition_id=petition.id,
            name="Athletes for Equality Nairobi",
            website="https://athletes-equality.example.org",
            domain="athletes-equality.example.org",
            country="KE",
            statement="Our members train for Lausanne and ask the IOC to speak.",
            contact_name="Wanjiru Demo",
            contact_email="contact@athletes-equality.example.org",
            contact_canonical_email="contact@athletes-equality.example.org",
            state="pending",
            created_at=now,
            updated_at=now,
            confirmed_at=now,
        )
    )


def next_september_third(today):
    this_year = dt.date(today.year, 9, 3)
    return this_year if this_year > today else dt.date(today.year + 1, 9, 3)


def create_demo_day(petition, today=None):
    """The Global Speak Out on the coming 3 September, its events approved and on the map."""
    from petition.events import gazetteer
    from petition.events import operations as events
    from petition.events.models import Event, Rsvp

    date = next_september_third(today or utcnow().date())
    day = events.create_day(
        DAY_SLUG,
        "Global Speak Out",
        date,
        petition=petition,
        toolkit=TOOLKIT,
        requirements=REQUIREMENTS,
        slogans=SLOGANS,
        state="open",
    )
    now = utcnow()
    rng = random.Random(3)  # noqa: S311 demo data, not secrets
    rows = [*DAY_EVENTS, ("", "", "", "20:00", False)]
    made = []
    for n, (city, country, venue, start, tbc) in enumerate(rows):
        place = gazetteer.lookup(city, country) if city else None
        zone = place.timezone if place else "Europe/Zurich"
        hour, minute = map(int, start.split(":"))
        local = dt.datetime.combine(date, dt.time(hour, minute))
        starts_at = events.to_utc(local, zone)
        online = not city
        event = Event(
            day_id=day.id,
            title=f"Speak Out {city}" if city else "Global Speak Out online",
            host_name="Demo Host",
            host_email=f"host{n}@example.org",
            host_canonical_email=f"host{n}@example.org",
            mode="online" if online else "in_person",
            venue=venue,
            city=place.name if place else city,
            country=country or "CH",
            lat=place.lat if place else None,
            lon=place.lon if place else None,
            timezone=zone,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=1, minutes=30),
            online_url="https://meet.example.org/speak-out" if online else "",
            description="We read the athletes' letter aloud and speak out together.",
            details_to_come=tbc,
            capacity=200 if not online else None,
            state="approved",
            created_at=now,
            updated_at=now,
            confirmed_at=now,
            approved_at=now,
        )
        db.session.add(event)
        made.append(event)
    db.session.flush()
    # A few RSVPs over the last weeks, so the counts and the staff chart have something to say.
    for event in made:
        for i in range(rng.randrange(2, 12)):
            email = f"guest{event.id}-{i}@example.org"
            created = now - dt.timedelta(days=rng.randrange(0, 28), minutes=rng.randrange(1440))
            db.session.add(
                Rsvp(
                    event_id=event.id,
                    name=f"Guest {i + 1}",
                    email=email,
                    canonical_email=email,
                    state="attending",
                    queued_at=created,
                    created_at=created,
                )
            )
    db.session.flush()
    return day


@click.command()
@with_appcontext
def demo():
    """Create the demo petition with milestones and a few hundred signatures."""
    from petition.demo import create_demo

    created, petition = create_demo()
    db.session.commit()
    if created:
        click.echo(f"demo petition created: /petitions/{petition.slug}")
    else:
        click.echo(f"demo petition already there: /petitions/{petition.slug}")
