import core


def test_core_declares_its_public_surface_once():
    public = {name for name in dir(core) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(core, name)).__name__ == "module"}
    assert sorted(core.__all__) == sorted(public - modules)
    assert len(core.__all__) == len(set(core.__all__))
