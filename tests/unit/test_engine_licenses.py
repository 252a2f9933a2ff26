"""entra_user_license's engine: options, sku and plan names (pure functions, no network)."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._access_base import SelectionError
from ansible_collections.entra.membership.plugins.module_utils._engine_licenses import DirectLicenses

E3 = {"skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "skuPartNumber": "ENTERPRISEPACK", "servicePlans": [
    {"servicePlanId": "7547a3fe-08ee-4ccb-b430-5077c5041653", "servicePlanName": "YAMMER_ENTERPRISE"},
    {"servicePlanId": "57ff2da0-773e-42df-b2af-ffb7a2317929", "servicePlanName": "TEAMS1"}]}
EMS = {"skuId": "efccb6f7-5641-4e0e-bd10-b4976e1bf68e", "skuPartNumber": "EMS", "servicePlans": [
    {"servicePlanId": "41781fb2-bc02-4b7c-bd55-b576c07bb09d", "servicePlanName": "AAD_PREMIUM"}]}


def engine_with(*skus):
    engine = DirectLicenses()
    engine.skus = {sku["skuId"]: sku for sku in skus}
    return engine


@pytest.mark.parametrize("params, message", [
    (dict(skus=[], state="absent"), "skus: give sku ids or part numbers"),
    (dict(skus=["all_direct"], state="present"), "skus: 'all_direct' is only for state=absent"),
    (dict(skus=["all_direct", "EMS"], state="absent"), "skus: 'all_direct' stands alone; it was given with 'EMS'"),
    (dict(skus=[" "], state="absent"), "skus: ' ' is not valid: it is empty"),
    (dict(skus=["EMS\x07"], state="absent"), "skus: 'EMS\\\\x07' is not valid: it contains control characters"),
    (dict(skus=["EMS"], disabled_plans=["INTUNE_A"], state="absent"), "disabled_plans: only for state=present"),
])
def test_options_are_checked_before_any_request(params, message):
    with pytest.raises(ValueError, match="^" + message):
        DirectLicenses().checked_options(dict({"disabled_plans": []}, **params))


def test_a_sku_is_named_by_id_or_part_number_without_case_and_an_unknown_one_gets_the_near_names():
    engine = engine_with(E3, EMS)
    assert engine._sku_id("enterprisepack") == engine._sku_id(E3["skuId"].upper()) == E3["skuId"]
    with pytest.raises(SelectionError, match="did you mean 'ENTERPRISEPACK'\\? \\(its skus: EMS, ENTERPRISEPACK\\)"):
        engine._sku_id("ENTERPRISE_PACK")


def test_a_disabled_plan_must_belong_to_a_sku_given():
    engine = engine_with(E3, EMS)
    engine.selected = [E3["skuId"]]
    assert engine._plan_id("yammer_enterprise") == engine._plan_id("7547A3FE-08EE-4CCB-B430-5077C5041653") == "7547a3fe-08ee-4ccb-b430-5077c5041653"
    message = "disabled_plans: 'AAD_PREMIUM' is not a service plan of ENTERPRISEPACK \\(their plans: YAMMER_ENTERPRISE, TEAMS1\\)"
    with pytest.raises(SelectionError, match=message):
        engine._plan_id("AAD_PREMIUM")


def test_details_keep_the_disabled_plans_sorted_with_their_names():
    details = engine_with(E3)._details(E3["skuId"], ["57FF2DA0-773E-42DF-B2AF-FFB7A2317929", "7547a3fe-08ee-4ccb-b430-5077c5041653"])
    assert details == {"sku_part_number": "ENTERPRISEPACK",
                       "disabled_plans": ["57ff2da0-773e-42df-b2af-ffb7a2317929", "7547a3fe-08ee-4ccb-b430-5077c5041653"],
                       "disabled_plan_names": ["TEAMS1", "YAMMER_ENTERPRISE"]}
