"""The case page's link to the dossier as a PDF: beside the CSV's, for those who may export a dossier, and the file
it gives is the engine's, masked for the reader and naming them."""

from __future__ import annotations

from engine.dossier_pdf import check_dossier, read_printed
from engine.service import Actor
from tests.integration.scenarios import file_dispute
from tests.web.conftest import WebWorld

MEDIATOR = Actor("gusu-mediator", "mediator")


def test_the_case_page_links_the_pdf_dossier_beside_the_csv_for_supervisors_and_auditors(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    web.cw.execute(web.cw.resolve(number), "accept", MEDIATOR)
    for who, role in (("gusu-supervisor", "supervisor"), ("gusu-auditor", "auditor")):
        browser = web.signed_in(who)
        page = browser.get(f"/case/{number}").get_data(as_text=True)
        csv_link, pdf_link = f'href="/case/{number}/dossier.csv"', f'href="/case/{number}/dossier.pdf"'
        assert csv_link in page and pdf_link in page and page.index(csv_link) < page.index(pdf_link)
        assert "打印用案件卷宗（PDF）" in page
        response = browser.get(f"/case/{number}/dossier.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{number}-dossier.pdf"'
        printed = read_printed(response.get_data())
        assert (printed.number, printed.role) == (number, role)
        assert check_dossier(web.cw, number, role=role, sha256=printed.sha256).matches
    mediator = web.signed_in("gusu-mediator")
    assert "dossier.pdf" not in mediator.get(f"/case/{number}").get_data(as_text=True)
    assert mediator.get(f"/case/{number}/dossier.pdf").status_code == 403
    assert web.signed_in("wuzhong-mediator").get(f"/case/{number}/dossier.pdf").status_code == 403
