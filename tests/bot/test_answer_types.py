"""What a question asks for, and whether a sentence holds it."""

import pytest

from bot.answering.answer_types import answer_type, has_answer_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many goals did Arnautovic score?", "number"),
        ("Wie viele Zivilisten kamen ums Leben?", "number"),
        ("Wie viel kostet das neue Modell?", "money"),
        ("How much money did the government put into the fund?", "money"),
        ("What share of the vote did Khol get?", "share"),
        ("Wie viel Prozent der Stimmen bekam Khol?", "share"),
        ("How long did it take Strasser to finish the race?", "duration"),
        ("Wie alt ist Yanis Varoufakis?", "age"),
        ("How old is ZTE's boss in Austria?", "age"),
        ("Warum hat sich die Untersuchung verzögert?", "reason"),
        ("Why did the strike end?", "reason"),
        ("Über welches Land wurden die Papageien geschleust?", "place"),
        ("Which court stopped the strike?", "which"),
        ("What is the name of the company?", "name"),
        ("Wie heißt die Bewegung?", "name"),
        ("When was the law passed?", "date"),
        ("Wann wurde das Gesetz beschlossen?", "date"),
        ("In welchem Jahr wurde er geboren?", "date"),
        ("Who is the new coach?", "name"),
        ("Wer leitet das Projekt?", "name"),
        ("Where did the summit take place?", "place"),
        ("Wo fand das Treffen statt?", "place"),
        ("Is Alpine entering IMSA?", "yes-no"),
        ("Plant Alpine einen Einstieg?", "yes-no"),
        ("Was kostet eine Karte?", "money"),
        ("What will the HTC Vive cost in Europe?", "money"),
        ("Was hat der Umbau des Stadions gekostet?", "money"),
        ("Was plant Alpine?", None),
        ("Tell me about Alpine", None),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question, kind):
    assert answer_type(question) == kind


def test_the_question_word_standing_first_decides():
    assert answer_type("Which aid group runs the day centre in Calais where the brawl broke out?") == "which"
    assert answer_type("Where did the man who wrote the report work?") == "place"
    assert answer_type("Who said when the law passes?") == "name"


@pytest.mark.parametrize(
    ("sentence", "kind", "holds"),
    [
        ("Er schoss drei Tore.", "number", True),
        ("Die Kosten liegen bei 3,2 Millionen Euro.", "number", True),
        ("Das Tor fiel spät.", "number", False),
        ("Das Gesetz wurde am 3. März beschlossen.", "date", True),
        ("Das Gesetz gilt seit 2015.", "date", True),
        ("Am Montag tagte der Rat.", "date", True),
        ("Das Gesetz wurde beschlossen.", "date", False),
        ("Das sagte Gewerkschaftschef Wolfgang Katzian am Montag.", "name", True),
        ("Die Gewerkschaft tagt.", "name", False),
        ("Der Fonds ist mit 100 Mio. Euro dotiert.", "money", True),
        ("Der Fonds hat 100 Mitglieder.", "money", False),
        ("Der Transfer kostete 35 Mio. CHF.", "money", True),
        ("Er zahlte £40m.", "money", True),
        ("Khol kam auf 11,12 Prozent.", "share", True),
        ("Khol kam auf Platz fünf.", "share", False),
        ("Er brauchte 3 Tage 14 Stunden und 44 Minuten.", "duration", True),
        ("Er war nach 29 Dienstjahren erfahren.", "duration", True),
        ("Er fuhr 2.200 Kilometer.", "duration", False),
        ("Der 54-Jährige trat zurück.", "age", True),
        ("Varoufakis (54) kam nach Berlin.", "age", True),
        ("Mit 39 Jahren ist er der älteste Quarterback.", "age", True),
        ("Varoufakis kam 2015 nach Berlin.", "age", False),
        ("Als Grund nannte die Behörde einen Personalengpass.", "reason", True),
        ("Die Untersuchung verzögert sich weil Personal fehlt.", "reason", True),
        ("Die Untersuchung verzögert sich.", "reason", False),
        ("Das Landesarbeitsgericht Hessen stoppte den Streik.", "which", False),
        ("Das Treffen fand in Wien statt.", "place", True),
        ("Das Treffen fand statt.", "place", False),
        ("Das Treffen fand in Wien statt.", None, False),
        ("Alpine plant keinen Einstieg.", "yes-no", False),
    ],
)
def test_whether_a_sentence_holds_that_kind(sentence, kind, holds):
    assert has_answer_type(sentence, kind) is holds


def test_what_the_question_names_itself_is_not_its_answer():
    question = "How many people will Nigeria have in 2050?"
    assert not has_answer_type("Bis 2050 wächst Nigeria weiter.", "number", question)
    assert has_answer_type("Nigeria hat 2050 fast 400 Millionen Einwohner.", "number", question)
    who = "Who rents the house of Bryan Cranston?"
    assert not has_answer_type("Das Haus von Bryan Cranston steht leer.", "name", who)
    assert has_answer_type("Ich habe es an Bob Odenkirk vermietet.", "name", who)
