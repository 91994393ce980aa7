"""The public page's new parts: the two ways to give a photo, the score placed among the
movie's other faces, and shared results as signed links that hold no photo."""

from __future__ import annotations

import io
import re

import pytest
from itsdangerous import URLSafeSerializer

from tests.conftest import forget_model_files
from tests.test_public import jpeg, post_photo
from webapp.learn.standing import MIN_OTHER_FACES, Standing, standing
from webapp.store import models as model_store
from webapp.store.db import open_store
from webapp.web.public import SHARE_SALT


def active_version(app) -> dict:
    return model_store.get_active_model_version(open_store(app.config["DATABASE"]))


def meta(html: str, name: str) -> str | None:
    """The content of a <meta property=...> or <meta name=...> tag."""
    found = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)">', html)
    return found[1] if found else None


def share_url_of(html: str) -> str:
    return re.search(r'id="share-link" href="([^"]+)"', html)[1]


def test_the_form_offers_a_selfie_and_a_photo_and_the_server_takes_the_chosen_one(
    public, astronaut_rgb
):
    page = public.get("/").get_data(as_text=True)
    inputs = re.findall(r"<input[^>]*type=\"file\"[^>]*>", page)
    assert len(inputs) == 2 and all('name="photo"' in tag for tag in inputs)
    assert ['capture="user"' in tag for tag in inputs] == [True, False]
    assert 'src="/target-picture"' in page  # the character's picture, large

    # The browser sends both inputs; the one not used is empty and has no file name.
    both = public.post(
        "/",
        data={"photo": [(io.BytesIO(b""), ""), (io.BytesIO(jpeg(astronaut_rgb)), "me.jpg")]},
        content_type="multipart/form-data",
    )
    assert both.status_code == 200 and 'id="look-alike-percent"' in both.get_data(as_text=True)
    nothing = public.post(
        "/", data={"photo": [(io.BytesIO(b""), ""), (io.BytesIO(b""), "")]},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert nothing.status_code == 400
    assert "Choose a photo or take a selfie first." in nothing.get_data(as_text=True)


def test_training_keeps_the_validated_other_faces_and_the_result_places_the_score(
    public, app_with_model, astronaut_rgb
):
    report = active_version(app_with_model)["metrics"]
    others = report["other_faces"]["percents"]
    validated_not_target = report["classes"]["not_target"]["support"]
    assert len(others) == report["other_faces"]["count"] == validated_not_target
    assert others == sorted(others)

    text = post_photo(public, jpeg(astronaut_rgb), url="/").get_data(as_text=True)
    shown = int(re.search(r'id="look-alike-percent">(\d+)%', text)[1])
    below = sum(p < shown for p in others)
    line = re.search(r'id="standing">([^<]+)<', text)[1]
    if below == len(others):
        assert f"than any of the {len(others)} other faces in the movie" in line
    else:
        assert f"than {100 * below // len(others)}% of the other faces in the movie" in line
    assert f"the {len(others)} faces of other people in the movie" in " ".join(text.split())


@pytest.mark.parametrize(
    "percents, percent, expected",
    [
        ([10.0, 20.0, 30.0, 40.0, 50.0], 35.0, Standing(3, 5)),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 99.0, Standing(5, 5)),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 5.0, Standing(0, 5)),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 30.0, Standing(2, 5)),  # a tie is not "more like"
        ([10.0, 20.0, 30.0, 40.0], 35.0, None),  # too few to compare with
    ],
)
def test_standing_among_the_other_faces(percents, percent, expected):
    assert MIN_OTHER_FACES == 5
    assert standing({"report": {"other_faces": {"percents": percents}}}, percent) == expected
    assert standing({"report": {}}, percent) is None  # a version from before they were kept


def test_share_of_below_is_rounded_down():
    assert Standing(2, 3).share_below == 66  # never "67%": the claim is never overstated
    assert Standing(299, 300).share_below == 99


def test_the_share_link_is_signed_and_holds_only_percent_faces_and_version(
    public, app_with_model, astronaut_rgb
):
    text = post_photo(public, jpeg(astronaut_rgb), url="/").get_data(as_text=True)
    shown = int(re.search(r'id="look-alike-percent">(\d+)%', text)[1])
    url = share_url_of(text)
    assert url.startswith("http://localhost/r/")  # absolute: it is pasted elsewhere
    token = url.rsplit("/", 1)[1]
    signer = URLSafeSerializer(app_with_model.config["SECRET_KEY"], salt=SHARE_SALT)
    directory = active_version(app_with_model)["directory"]
    assert signer.loads(token) == [shown, 1, directory]

    shared = public.get(f"/r/{token}")
    assert shared.status_code == 200
    page = shared.get_data(as_text=True)
    assert f'id="shared-percent">{shown}%' in page
    assert "data:image" not in page and "scored-face" not in page  # never the visitor's face
    assert meta(page, "og:title") == f"{shown}% the target"
    assert meta(page, "og:image") == "http://localhost/target-picture"
    assert meta(page, "og:url") == url
    assert meta(page, "twitter:card") == "summary"
    assert meta(page, "twitter:image") == "http://localhost/target-picture"
    assert f"A {shown}% look-alike of the target" in meta(page, "og:description")
    assert 'id="standing"' in page  # the version's other faces are still on disk


def test_a_forged_or_edited_share_link_is_refused(public, app_with_model):
    directory = active_version(app_with_model)["directory"]
    signer = URLSafeSerializer(app_with_model.config["SECRET_KEY"], salt=SHARE_SALT)
    genuine = signer.dumps([40, 1, directory])
    assert public.get(f"/r/{genuine}").status_code == 200

    payload, signature = genuine.rsplit(".", 1)
    boasting = URLSafeSerializer("anything", salt=SHARE_SALT).dumps([99, 1, directory])
    forged = [
        boasting.rsplit(".", 1)[0] + "." + signature,  # 99% with the genuine signature
        payload + "." + signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB"),
        boasting,  # signed with another key
        URLSafeSerializer(app_with_model.config["SECRET_KEY"], salt="other").dumps(
            [99, 1, directory]
        ),  # this app's key for something else
        signer.dumps([150, 1, directory]),  # signed, but no score the app gives
        signer.dumps([99, 1, "../../etc"]),
        signer.dumps({"percent": 99}),
        genuine[:-5],
        "nonsense",
    ]
    for token in forged:
        response = public.get(f"/r/{token}")
        assert response.status_code == 404, token
        assert "This result link is not valid" in response.get_data(as_text=True)


def test_home_page_has_open_graph_tags(public):
    page = public.get("/").get_data(as_text=True)
    assert meta(page, "og:title") == "How much do you look like the target?"
    assert meta(page, "og:image") == "http://localhost/target-picture"
    assert meta(page, "og:url") == "http://localhost/"
    assert meta(page, "twitter:card") == "summary"


def test_a_shared_link_outlives_its_model_version(tmp_path, public, app_with_model, astronaut_rgb):
    """A link to a version whose files were deleted (from the models folder and the store)
    still shows the percentage, without the comparison it can no longer make."""
    import shutil

    text = post_photo(public, jpeg(astronaut_rgb), url="/").get_data(as_text=True)
    url = share_url_of(text)
    directory = active_version(app_with_model)["directory"]
    shutil.rmtree(f"{app_with_model.config['MODELS_DIR']}/{directory}")
    forget_model_files(app_with_model, directory)
    page = public.get(url.removeprefix("http://localhost")).get_data(as_text=True)
    assert 'id="shared-percent">' in page and 'id="standing"' not in page
