def test_home_lists_open_petitions(client, make_petition):
    make_petition(slug="open-one", title="Open one")
    make_petition(slug="draft-one", title="Draft one", state="draft")
    page = client.get("/").get_data(as_text=True)
    assert "Open one" in page
    assert "Draft one" not in page
