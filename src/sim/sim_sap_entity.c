/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_sap_entity.c: the entity sets of the `sap_pm` simulator and the
 * generic OData engine over them: the property tables (names, Edm types,
 * lengths, create/update/nullable flags as in the SAP OpenAPI files
 * OP_API_*.json, trimmed to the properties the contract sheet names), the
 * services and navigations, the V2 and V4 JSON of a property, and GET
 * (collections with $filter/$orderby/$top/$skip/$skiptoken/$select/
 * $inlinecount/$count and server paging; single entities), POST and PATCH.
 * Called by sim_sap.c (dispatch) and sim_sap_pm.c (PM behaviour).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "http/json.h"
#include "sim/sim_sap_int.h"
#include "sim/sim_wats_odata.h"

/* ---- property tables (from the OpenAPI files, shared/specs/sap/) ---------------------------- */

static const struct sap_field equipment_fields[] = {
    {"Equipment", SF_STR, 18, SF_KEY | SF_C},
    {"ValidityEndDate", SF_DATE, 0, SF_KEY},
    {"ValidityEndTime", SF_TIME, 0, SF_N},
    {"ValidityStartDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"EquipmentName", SF_STR, 40, SF_C | SF_U | SF_N},
    {"EquipmentCategory", SF_STR, 1, SF_C | SF_U | SF_N},
    {"TechnicalObjectType", SF_STR, 10, SF_C | SF_U | SF_N},
    {"AssetManufacturerName", SF_STR, 30, SF_C | SF_U | SF_N},
    {"ManufacturerPartTypeName", SF_STR, 20, SF_C | SF_U | SF_N},
    {"ManufacturerSerialNumber", SF_STR, 30, SF_C | SF_U | SF_N},
    {"SerialNumber", SF_STR, 18, SF_C | SF_U | SF_N},
    {"Material", SF_STR, 40, SF_C | SF_U | SF_N},
    {"ConstructionYear", SF_STR, 4, SF_C | SF_U | SF_N},
    {"InventoryNumber", SF_STR, 25, SF_C | SF_U | SF_N},
    {"MaintenancePlant", SF_STR, 4, SF_C | SF_U | SF_N},
    {"AssetLocation", SF_STR, 10, SF_C | SF_U | SF_N},
    {"MaintenancePlanningPlant", SF_STR, 4, SF_C | SF_U | SF_N},
    {"FunctionalLocation", SF_STR, 30, SF_N},
    {"SuperordinateEquipment", SF_STR, 18, SF_C | SF_U | SF_N},
    {"WorkCenter", SF_STR, 8, SF_C | SF_U | SF_N},
    {"MainWorkCenter", SF_STR, 8, SF_C | SF_U | SF_N},
    {"CompanyCode", SF_STR, 4, SF_C | SF_U | SF_N},
    {"CostCenter", SF_STR, 10, SF_C | SF_U | SF_N},
    {"CreationDate", SF_DATE, 0, SF_N},
    {"CreatedByUser", SF_STR, 12, SF_N},
    {"LastChangedByUser", SF_STR, 12, SF_N},
    {"LastChangeDateTime", SF_DTIME, 0, SF_N},
    {"EquipmentIsMarkedForDeletion", SF_BOOL, 0, SF_N},
    {"EquipmentIsInactive", SF_BOOL, 0, SF_N},
    {"EquipmentIsInstalled", SF_BOOL, 0, SF_N},
    {"EquipmentIsAvailable", SF_BOOL, 0, SF_N},
};

static const struct sap_field order_fields[] = {
    {"MaintenanceOrder", SF_STR, 12, SF_KEY | SF_C},
    {"MaintenanceOrderType", SF_STR, 4, SF_C | SF_U | SF_N},
    {"MaintenanceOrderDesc", SF_STR, 40, SF_C | SF_U | SF_N},
    {"MaintOrdBasicStartDateTime", SF_DTIME, 0, SF_C | SF_U | SF_N},
    {"MaintOrdBasicEndDateTime", SF_DTIME, 0, SF_C | SF_U | SF_N},
    {"MaintOrdSchedldBscStrtDateTime", SF_DTIME, 0, SF_N},
    {"MaintOrdSchedldBscEndDateTime", SF_DTIME, 0, SF_N},
    {"MaintenanceNotification", SF_STR, 12, SF_C | SF_U | SF_N},
    {"MainWorkCenter", SF_STR, 8, SF_C | SF_U | SF_N},
    {"MaintenancePlanningPlant", SF_STR, 4, SF_C | SF_U | SF_N},
    {"MaintenancePlant", SF_STR, 4, SF_C | SF_U | SF_N},
    {"MaintOrdProcessPhaseCode", SF_STR, 2, SF_N},
    {"MaintOrdProcessSubPhaseCode", SF_STR, 4, SF_N},
    {"Equipment", SF_STR, 18, SF_C | SF_U | SF_N},
    {"EquipmentName", SF_STR, 40, SF_N},
    {"FunctionalLocation", SF_STR, 30, SF_C | SF_U | SF_N},
    {"MaintenanceActivityType", SF_STR, 3, SF_C | SF_U | SF_N},
    {"MaintPriority", SF_STR, 1, SF_C | SF_U | SF_N},
    {"LatestAcceptableCompletionDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"LastChangeDateTime", SF_DTIME, 0, SF_N},
    {"CreatedByUser", SF_STR, 12, SF_C | SF_U | SF_N},
    {"TechnicalObject", SF_STR, 40, SF_N},
    {"TechObjIsEquipOrFuncnlLoc", SF_STR, 20, SF_N},
};

static const struct sap_field operation_fields[] = {
    {"MaintenanceOrder", SF_STR, 12, SF_KEY | SF_C},
    {"MaintenanceOrderOperation", SF_STR, 4, SF_KEY | SF_C},
    {"MaintenanceOrderSubOperation", SF_STR, 4, SF_KEY | SF_C},
    {"OperationControlKey", SF_STR, 4, SF_C | SF_U | SF_N},
    {"WorkCenter", SF_STR, 8, SF_N},
    {"Plant", SF_STR, 4, SF_N},
    {"OperationDescription", SF_STR, 40, SF_C | SF_U | SF_N},
    {"Equipment", SF_STR, 18, SF_C | SF_U | SF_N},
    {"MaintenanceActivityType", SF_STR, 3, SF_C | SF_U | SF_N},
    {"MaintOrderOperationDuration", SF_DEC, 0, SF_C | SF_U | SF_N},
    {"MaintOrdOperationDurationUnit", SF_STR, 3, SF_C | SF_U | SF_N},
    {"OpActualExecutionStartDate", SF_DATE, 0, SF_N},
    {"OpActualExecutionStartTime", SF_TIME, 0, SF_N},
    {"OpActualExecutionEndDate", SF_DATE, 0, SF_N},
    {"OpActualExecutionEndTime", SF_TIME, 0, SF_N},
    {"ForecastWorkQuantity", SF_DEC, 0, SF_N},
    {"ActualWorkQuantity", SF_DEC, 0, SF_N},
    {"MaintOrdOpProcessPhaseCode", SF_STR, 2, SF_N},
    {"MaintOrdOpProcessSubPhaseCode", SF_STR, 4, SF_N},
};

static const struct sap_field notification_fields[] = {
    {"MaintenanceNotification", SF_STR, 12, SF_KEY},
    {"NotificationText", SF_STR, 40, SF_C | SF_U},
    {"MaintPriority", SF_STR, 1, SF_C | SF_U | SF_N},
    {"NotificationType", SF_STR, 2, SF_C | SF_N},
    {"NotifProcessingPhase", SF_STR, 1, SF_N},
    {"NotifProcessingPhaseDesc", SF_STR, 60, SF_N},
    {"CreationDate", SF_DATE, 0, SF_N},
    {"CreationTime", SF_TIME, 0, SF_N},
    {"LastChangeDate", SF_DATE, 0, SF_N},
    {"LastChangeTime", SF_TIME, 0, SF_N},
    {"LastChangeDateTime", SF_DTIME, 0, SF_N},
    {"ReportedByUser", SF_STR, 12, SF_C | SF_U | SF_N},
    {"MalfunctionStartDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"MalfunctionStartTime", SF_TIME, 0, SF_C | SF_U | SF_N},
    {"MalfunctionEndDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"MalfunctionEndTime", SF_TIME, 0, SF_C | SF_U | SF_N},
    {"RequiredStartDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"RequiredStartTime", SF_TIME, 0, SF_C | SF_U | SF_N},
    {"RequiredEndDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"RequiredEndTime", SF_TIME, 0, SF_C | SF_U | SF_N},
    {"MaintenanceObjectIsDown", SF_BOOL, 0, SF_C | SF_U | SF_N},
    {"MaintNotifLongTextForEdit", SF_STR, 1333, SF_C | SF_U | SF_N},
    {"TechnicalObject", SF_STR, 40, SF_C | SF_U | SF_N},
    {"TechObjIsEquipOrFuncnlLoc", SF_STR, 20, SF_C | SF_U | SF_N},
    {"MaintenancePlanningPlant", SF_STR, 4, SF_C | SF_U | SF_N},
    {"MainWorkCenter", SF_STR, 8, SF_C | SF_U | SF_N},
    {"MaintenancePlant", SF_STR, 4, SF_C | SF_U | SF_N},
    {"FunctionalLocation", SF_STR, 30, SF_N},
    {"MaintenanceOrder", SF_STR, 12, SF_C | SF_U | SF_N},
    {"ConcatenatedActiveSystStsName", SF_STR, 224, SF_N},
    {"MaintObjectDowntimeDuration", SF_DBL, 0, SF_C | SF_U | SF_N},
    {"MaintObjDowntimeDurationUnit", SF_STR, 3, SF_C | SF_U | SF_N},
    {"MaintenancePlan", SF_STR, 12, SF_N},
    {"MaintenanceItem", SF_STR, 16, SF_N},
    {"MaintenancePlanCallNumber", SF_INT, 0, SF_N},
    {"NotificationReferenceDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"NotificationReferenceTime", SF_TIME, 0, SF_C | SF_U | SF_N},
    {"NotificationCompletionDate", SF_DATE, 0, SF_N},
    {"CompletionTime", SF_TIME, 0, SF_N},
    {"MaintNotifExtReferenceNumber", SF_STR, 20, SF_C | SF_U | SF_N},
    {"MaintNotifDetectionCode", SF_STR, 4, SF_C | SF_U | SF_N},
    {"MaintNotifDetectionCodeGroup", SF_STR, 8, SF_C | SF_U | SF_N},
    {"MaintNotifProcessPhaseCode", SF_STR, 2, SF_N},
    {"MaintNotifProcessSubPhaseCode", SF_STR, 4, SF_N},
};

static const struct sap_field plan_fields[] = {
    {"MaintenancePlan", SF_STR, 12, SF_KEY | SF_C},
    {"MaintenancePlanDesc", SF_STR, 40, SF_C | SF_U | SF_N},
    {"CreationDate", SF_DATE, 0, SF_N},
    {"CreatedByUser", SF_STR, 12, SF_N},
    {"LastChangeDate", SF_DATE, 0, SF_N},
    {"LastChangedByUser", SF_STR, 12, SF_N},
    {"MaintenanceStrategy", SF_STR, 6, SF_C | SF_N},
    {"SchedulingDuration", SF_STR, 3, SF_C | SF_U | SF_N},
    {"SchedulingDurationUnit", SF_STR, 3, SF_C | SF_U | SF_N},
    {"CycleModificationRatio", SF_DEC, 0, SF_C | SF_U | SF_N},
    {"MaintPlanSchedgIndicator", SF_STR, 1, SF_C | SF_U | SF_N},
    {"CallHorizonPercent", SF_STR, 3, SF_C | SF_U | SF_N},
    {"CallHorizonInDays", SF_STR, 3, SF_C | SF_U | SF_N},
    {"MaintenanceCall", SF_INT, 0, SF_N},
    {"MaintenancePlanCategory", SF_STR, 2, SF_C},
    {"BasicStartDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"SchedulingStartDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"SchedulingStartTime", SF_TIME, 0, SF_C | SF_U | SF_N},
    {"MaintPlanStartCntrReadingValue", SF_STR, 22, SF_C | SF_U | SF_N},
    {"LateCompletionShiftInPercent", SF_STR, 3, SF_C | SF_U | SF_N},
    {"LateCompletionTolerancePercent", SF_STR, 3, SF_C | SF_U | SF_N},
    {"EarlyCompletionShiftInPercent", SF_STR, 3, SF_C | SF_U | SF_N},
    {"EarlyCompletionTolerancePct", SF_STR, 3, SF_C | SF_U | SF_N},
    {"MaintPlanLogicalOperatorCode", SF_STR, 1, SF_C | SF_U | SF_N},
    {"SchedulingEndDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"MaintPlanEndCntrReadingValue", SF_STR, 22, SF_C | SF_U | SF_N},
    {"LastChangeDateTime", SF_DTIME, 0, SF_C | SF_U | SF_N},
    {"MaintenanceLeadFloatInDays", SF_STR, 3, SF_C | SF_U | SF_N},
    {"MaintenancePlanSystemStatus", SF_STR, 30, SF_N},
};

static const struct sap_field cycle_fields[] = {
    {"MaintenancePlan", SF_STR, 12, SF_KEY},
    {"MaintenancePlanCycle", SF_STR, 2, SF_KEY},
    {"MaintenanceStrategy", SF_STR, 6, SF_C | SF_U | SF_N},
    {"CycleSetSequence", SF_STR, 2, SF_C | SF_U | SF_N},
    {"MaintPlanCycRcrrcIntervalQty", SF_DBL, 0, SF_C | SF_U | SF_N},
    {"MaintPlanCycRcrrcIntervalUnit", SF_STR, 3, SF_C | SF_U | SF_N},
    {"MaintPlanCycleDesc", SF_STR, 30, SF_C | SF_U | SF_N},
    {"MeasuringPoint", SF_STR, 12, SF_C | SF_U | SF_N},
    {"MaintPlanCycleStartOffsetValue", SF_DBL, 0, SF_C | SF_U | SF_N},
    {"MaintCycleNextPlndCntrRdng", SF_DBL, 0, SF_C | SF_U | SF_N},
    {"MaintenancePlanCycleIsInactive", SF_BOOL, 0, SF_C | SF_U | SF_N},
    {"CycleSetSequenceRepeatFactor", SF_STR, 2, SF_C | SF_U | SF_N},
    {"LASTCHANGEDATETIME", SF_DTIME, 0, SF_C | SF_U | SF_N},
};

static const struct sap_field schedule_fields[] = {
    {"MaintenancePlan", SF_STR, 12, SF_KEY | SF_C},
    {"MaintenancePlanCallNumber", SF_INT, 0, SF_KEY | SF_C},
    {"MaintenancePackage", SF_STR, 2, SF_KEY | SF_C},
    {"SchedulingType", SF_STR, 1, SF_C | SF_U | SF_N},
    {"SchedulingStatus", SF_STR, 1, SF_C | SF_U | SF_N},
    {"MeasuringPoint", SF_STR, 12, SF_C | SF_U | SF_N},
    {"MaintenanceTaskPerformanceUnit", SF_STR, 3, SF_C | SF_U | SF_N},
    {"MaintenanceCallNextPlannedDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"MaintenanceCallDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"CompletionDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"CompletionTime", SF_TIME, 0, SF_C | SF_U | SF_N},
    {"CycleSetSequence", SF_STR, 2, SF_C | SF_U | SF_N},
    {"MaintCallCompltnCntrRdng", SF_DBL, 0, SF_C | SF_U | SF_N},
    {"MaintenanceCallIsOutstanding", SF_BOOL, 0, SF_C | SF_U | SF_N},
    {"MaintCallIsInvokedOnPlndDate", SF_BOOL, 0, SF_C | SF_U | SF_N},
    {"MaintCallHorizonIsNotReached", SF_BOOL, 0, SF_C | SF_U | SF_N},
    {"MaintPlanLastScheduledDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"ReleasedByUserName", SF_STR, 12, SF_C | SF_U | SF_N},
    {"MaintPlnCnctntdDuePackagesTxt", SF_STR, 256, SF_C | SF_U | SF_N},
};

static const struct sap_field item_fields[] = {
    {"MaintenanceItem", SF_STR, 16, SF_KEY | SF_C},
    {"MaintenanceItemDescription", SF_STR, 40, SF_C | SF_U},
    {"MaintenanceStrategy", SF_STR, 6, SF_C | SF_U | SF_N},
    {"MaintenancePlanCategory", SF_STR, 2, SF_C},
    {"MaintenancePlanCallObject", SF_STR, 1, SF_N},
    {"MaintenancePlan", SF_STR, 12, SF_C | SF_U | SF_N},
    {"MaintenancePlanItemPosition", SF_STR, 4, SF_C | SF_U | SF_N},
    {"FunctionalLocationLabelName", SF_STR, 40, SF_C | SF_U | SF_N},
    {"Equipment", SF_STR, 18, SF_C | SF_U | SF_N},
    {"TaskListType", SF_STR, 1, SF_C | SF_U | SF_N},
    {"TaskListGroup", SF_STR, 8, SF_C | SF_U | SF_N},
    {"TaskListGroupCounter", SF_STR, 2, SF_C | SF_U | SF_N},
    {"MaintenancePlanningPlant", SF_STR, 4, SF_C | SF_U | SF_N},
    {"MaintenanceOrderType", SF_STR, 4, SF_C | SF_U | SF_N},
    {"NotificationType", SF_STR, 2, SF_C | SF_U | SF_N},
    {"MaintenanceActivityType", SF_STR, 3, SF_C | SF_U | SF_N},
    {"MainWorkCenter", SF_STR, 8, SF_C | SF_U | SF_N},
    {"MaintPriority", SF_STR, 1, SF_C | SF_U | SF_N},
    {"MaintenancePlant", SF_STR, 4, SF_C | SF_U | SF_N},
    {"CreatedByUser", SF_STR, 12, SF_N},
    {"CreationDate", SF_DATE, 0, SF_N},
    {"LastChangeDate", SF_DATE, 0, SF_N},
    {"LastChangedByUser", SF_STR, 12, SF_N},
    {"LastChangeDateTime", SF_DTIME, 0, SF_N},
};

static const struct sap_field confirmation_fields[] = {
    {"MaintOrderConf", SF_STR, 10, SF_KEY | SF_C},
    {"MaintOrderConfCntrValue", SF_STR, 8, SF_KEY | SF_C},
    {"MaintenanceOrder", SF_STR, 12, SF_C | SF_U | SF_N},
    {"MaintenanceOrderOperation", SF_STR, 4, SF_C | SF_U | SF_N},
    {"MaintenanceOrderSubOperation", SF_STR, 4, SF_C | SF_U | SF_N},
    {"PersonnelNumber", SF_STR, 8, SF_C | SF_U | SF_N},
    {"ActualWorkQuantity", SF_DEC, 0, SF_C | SF_U | SF_N},
    {"ActualWorkQuantityUnit", SF_STR, 3, SF_C | SF_U | SF_N},
    {"ActualDuration", SF_DEC, 0, SF_C | SF_U | SF_N},
    {"ActualDurationUnit", SF_STR, 3, SF_C | SF_U | SF_N},
    {"OperationConfirmedStartDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"OperationConfirmedStartTime", SF_TIME, 0, SF_C | SF_U | SF_N},
    {"OperationConfirmedEndDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"OperationConfirmedEndTime", SF_TIME, 0, SF_C | SF_U | SF_N},
    {"IsFinalConfirmation", SF_BOOL, 0, SF_C | SF_U | SF_N},
    {"NoFurtherWorkQuantityIsExpd", SF_BOOL, 0, SF_C | SF_U | SF_N},
    {"RemainingWorkQuantity", SF_DEC, 0, SF_C | SF_U | SF_N},
    {"RemainingWorkQuantityUnit", SF_STR, 3, SF_C | SF_U | SF_N},
    {"PostingDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"ActivityType", SF_STR, 6, SF_C | SF_U | SF_N},
    {"OpenReservationsIsCleared", SF_BOOL, 0, SF_C | SF_U | SF_N},
    {"ConfirmationText", SF_STR, 40, SF_C | SF_U | SF_N},
    {"EmployeeWageType", SF_STR, 4, SF_C | SF_U | SF_N},
    {"EmployeeWageGroup", SF_STR, 3, SF_C | SF_U | SF_N},
    {"VarianceReasonCode", SF_STR, 4, SF_C | SF_U | SF_N},
    {"CapacityInternalID", SF_STR, 8, SF_C | SF_U | SF_N},
    {"NmbrOfMaintTechnicianCapSplits", SF_INT, 0, SF_C | SF_U | SF_N},
    {"MaterialDocument", SF_STR, 10, SF_C | SF_U | SF_N},
    {"AccountingIndicatorCode", SF_STR, 2, SF_C | SF_U | SF_N},
    {"ActyConfFcstdEndDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"ActyConfFcstdEndTime", SF_TIME, 0, SF_C | SF_U | SF_N},
};

static const struct sap_field mpoint_fields[] = {
    {"MeasuringPoint", SF_STR, 12, SF_KEY},
    {"MeasuringPointDescription", SF_STR, 40, SF_C | SF_U},
    {"MeasuringPointObjectIdentifier", SF_STR, 22, 0},
    {"TechnicalObjectType", SF_STR, 10, 0},
    {"MeasuringPointPositionNumber", SF_STR, 20, SF_C | SF_U},
    {"MeasuringPointCategory", SF_STR, 1, SF_C | SF_U},
    {"MeasuringPointIsCounter", SF_BOOL, 0, SF_C | SF_U},
    {"MsrgPtInternalCharacteristic", SF_STR, 10, SF_C | SF_U},
    {"CharcValueUnit", SF_STR, 3, 0},
    {"MeasuringPointDecimalPlaces", SF_INT, 0, SF_C | SF_U},
    {"MeasuringPointExponent", SF_INT, 0, SF_C | SF_U},
    {"MeasuringPointCodeGroup", SF_STR, 8, SF_C | SF_U},
    {"ValuationCodeIsSufficient", SF_BOOL, 0, SF_C | SF_U},
    {"Assembly", SF_STR, 40, SF_C | SF_U},
    {"MeasuringPointIsInactive", SF_BOOL, 0, SF_C | SF_U},
    {"MeasuringPointShortText", SF_STR, 40, SF_C | SF_U},
    {"MeasurementRangeUnit", SF_STR, 3, SF_C | SF_U},
    {"MsmtRdngSourceMeasuringPoint", SF_STR, 12, 0},
    {"MeasuringPointTargetValue", SF_DBL, 0, SF_C | SF_U},
    {"MeasuringPointMaximumThreshold", SF_DBL, 0, SF_C | SF_U},
    {"MeasuringPointMinimumThreshold", SF_DBL, 0, SF_C | SF_U},
    {"MeasuringPointAnnualEstimate", SF_DBL, 0, SF_C | SF_U},
    {"CounterOverflowRdngThreshold", SF_DBL, 0, SF_C | SF_U},
    {"MsrgPtIsCountingBackwards", SF_BOOL, 0, SF_C | SF_U},
    {"MeasurementTransferIsSupported", SF_BOOL, 0, SF_C | SF_U},
    {"FunctionalLocation", SF_STR, 30, SF_C | SF_U},
    {"Equipment", SF_STR, 18, SF_C | SF_U},
    {"MsmtRdngTransferMode", SF_STR, 1, SF_C | SF_U},
    {"SAP__Messages", SF_MSGS, 0, SF_C | SF_U},
};

static const struct sap_field mdoc_fields[] = {
    {"MeasurementDocument", SF_STR, 20, SF_KEY | SF_C},
    {"MeasuringPoint", SF_STR, 12, SF_C | SF_U},
    {"MeasuringPointPositionNumber", SF_STR, 20, SF_C | SF_U},
    {"MsmtRdngDate", SF_DATE, 0, SF_C | SF_U | SF_N},
    {"MsmtRdngTime", SF_TIME, 0, SF_C | SF_U},
    {"Characteristic", SF_STR, 30, SF_C | SF_U},
    {"MsmtDocumentReferredOrder", SF_STR, 22, SF_C | SF_U},
    {"RefdMaintOrderOpStatusObject", SF_STR, 22, SF_C | SF_U},
    {"MaintenanceOrderOperation", SF_STR, 4, SF_C | SF_U},
    {"MaintenanceOrderSubOperation", SF_STR, 4, SF_C | SF_U},
    {"MsmtIsDoneAfterTaskCompltn", SF_BOOL, 0, SF_C | SF_U},
    {"CharcValueUnit", SF_STR, 3, SF_C | SF_U},
    {"MeasurementReading", SF_DBL, 0, SF_C | SF_U},
    {"MeasurementReadingInEntryUoM", SF_DBL, 0, SF_C | SF_U},
    {"MeasurementReadingEntryUoM", SF_STR, 3, SF_C | SF_U},
    {"MeasurementCounterReading", SF_DBL, 0, SF_C | SF_U},
    {"MsmtCounterReadingDifference", SF_DBL, 0, SF_C | SF_U},
    {"TotalMsmtRdngIsSetExternally", SF_BOOL, 0, SF_C | SF_U},
    {"MeasuringPointTargetValue", SF_DBL, 0, SF_C | SF_U},
    {"MsmtValuationCode", SF_STR, 4, SF_C | SF_U},
    {"MeasurementDocumentText", SF_STR, 40, SF_C | SF_U},
    {"MeasurementDocumentHasLongText", SF_BOOL, 0, SF_C | SF_U},
    {"MsmtRdngByUser", SF_STR, 12, SF_C | SF_U},
    {"MsmtRdngStatus", SF_STR, 1, SF_C | SF_U},
    {"MsmtCntrReadingDiffIsEntered", SF_BOOL, 0, SF_C | SF_U},
    {"MsmtRdngIsReversed", SF_BOOL, 0, SF_C | SF_U},
    {"MsmtCounterReadingIsReplaced", SF_BOOL, 0, SF_C | SF_U},
    {"SAP__Messages", SF_MSGS, 0, SF_C | SF_U},
};
#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const struct sap_set set_equipment = {
    "Equipment",          "Equipment",          "EquipmentType",
    equipment_fields,     N_(equipment_fields), SAP_OP_READ | SAP_OP_CREATE | SAP_OP_UPDATE,
    sap_equipment_create, "equipment_created",  "equipment_updated"};
static const struct sap_set set_order = {"MaintenanceOrder",
                                         "MaintenanceOrder",
                                         "MaintenanceOrderType",
                                         order_fields,
                                         N_(order_fields),
                                         SAP_OP_READ,
                                         NULL,
                                         NULL,
                                         NULL};
static const struct sap_set set_operation = {"MaintenanceOrderOperation",
                                             "MaintenanceOrderOperation",
                                             "MaintenanceOrderOperationType",
                                             operation_fields,
                                             N_(operation_fields),
                                             SAP_OP_READ,
                                             NULL,
                                             NULL,
                                             NULL};
static const struct sap_set set_notification = {
    "MaintenanceNotification",     "MaintenanceNotification",
    "MaintenanceNotificationType", notification_fields,
    N_(notification_fields),       SAP_OP_READ | SAP_OP_CREATE | SAP_OP_UPDATE,
    sap_notification_create,       "notifications_created",
    "notifications_updated"};
static const struct sap_set set_plan = {"MaintenancePlan",
                                        "MaintenancePlan",
                                        "MaintenancePlanType",
                                        plan_fields,
                                        N_(plan_fields),
                                        SAP_OP_READ,
                                        NULL,
                                        NULL,
                                        NULL};
static const struct sap_set set_cycle = {"MaintenancePlanCycle",
                                         "MaintenancePlanCycle",
                                         "MaintenancePlanCycleType",
                                         cycle_fields,
                                         N_(cycle_fields),
                                         SAP_OP_READ,
                                         NULL,
                                         NULL,
                                         NULL};
static const struct sap_set set_schedule = {"MaintenancePlanSchedule",
                                            "MaintenancePlanSchedule",
                                            "MaintenancePlanScheduleType",
                                            schedule_fields,
                                            N_(schedule_fields),
                                            SAP_OP_READ,
                                            NULL,
                                            NULL,
                                            NULL};
static const struct sap_set set_item = {"MaintenanceItem",
                                        "MaintenanceItem",
                                        "MaintenanceItemType",
                                        item_fields,
                                        N_(item_fields),
                                        SAP_OP_READ,
                                        NULL,
                                        NULL,
                                        NULL};
static const struct sap_set set_confirmation = {
    "MaintOrderConfirmation", "MaintOrderConfirmation", "MaintOrderConfirmationType",
    confirmation_fields,      N_(confirmation_fields),  SAP_OP_READ | SAP_OP_CREATE,
    sap_confirmation_create,  "confirmations_posted",   NULL};
static const struct sap_set set_mpoint = {"MeasuringPoint",
                                          "MeasuringPoint",
                                          "MeasuringPointType",
                                          mpoint_fields,
                                          N_(mpoint_fields),
                                          SAP_OP_READ,
                                          NULL,
                                          NULL,
                                          NULL};
static const struct sap_set set_mdoc = {"MeasurementDocument",
                                        "MeasurementDocument",
                                        "MeasurementDocumentType",
                                        mdoc_fields,
                                        N_(mdoc_fields),
                                        SAP_OP_READ | SAP_OP_CREATE,
                                        sap_mdoc_create,
                                        "measurement_documents_created",
                                        NULL};

static const struct sap_set *const equipment_sets[] = {&set_equipment, NULL};
static const struct sap_set *const order_sets[] = {&set_order, &set_operation, NULL};
static const struct sap_set *const notification_sets[] = {&set_notification, NULL};
static const struct sap_set *const plan_sets[] = {&set_plan, &set_cycle, &set_schedule, &set_item,
                                                  NULL};
static const struct sap_set *const item_sets[] = {&set_item, NULL};
static const struct sap_set *const confirmation_sets[] = {&set_confirmation, NULL};
static const struct sap_set *const mpoint_sets[] = {&set_mpoint, NULL};
static const struct sap_set *const mdoc_sets[] = {&set_mdoc, NULL};

static const struct sap_service svc_equipment = {"API_EQUIPMENT", false,       NULL,
                                                 "API_EQUIPMENT", "PM-EQM-EQ", equipment_sets};
static const struct sap_service svc_order = {"API_MAINTENANCEORDER", false,       NULL,
                                             "API_MAINTENANCEORDER", "PM-WOC-MO", order_sets};
static const struct sap_service svc_notification = {
    "API_MAINTNOTIFICATION", false, NULL, "API_MAINTNOTIFICATION", "PM-WOC-MN", notification_sets};
static const struct sap_service svc_plan = {"API_MAINTENANCEPLAN", false,       NULL,
                                            "API_MAINTENANCEPLAN", "PM-PRM-MP", plan_sets};
static const struct sap_service svc_item = {"API_MAINTENANCEITEM", false,       NULL,
                                            "API_MAINTENANCEITEM", "PM-PRM-MP", item_sets};
static const struct sap_service svc_confirmation = {
    "API_MAINTORDERCONFIRMATION", false,       NULL,
    "API_MAINTORDERCONFIRMATION", "PM-WOC-JC", confirmation_sets};
static const struct sap_service svc_mpoint = {
    "api_measuringpoint", true, "measuringpoint", NULL, "PM-EQM-SF-MPC", mpoint_sets};
static const struct sap_service svc_mdoc = {
    "api_measurementdocument", true, "measurementdocument", NULL, "PM-EQM-SF-MMP", mdoc_sets};

const struct sap_service *const sap_services[] = {
    &svc_equipment,    &svc_order,  &svc_notification, &svc_plan, &svc_item,
    &svc_confirmation, &svc_mpoint, &svc_mdoc,         NULL,
};

const struct sap_nav sap_navs[] = {
    {"MaintenanceOrder", "to_MaintenanceOrderOperation", "MaintenanceOrderOperation",
     "MaintenanceOrder", "MaintenanceOrder"},
    {"MaintenancePlan", "to_Schedules", "MaintenancePlanSchedule", "MaintenancePlan",
     "MaintenancePlan"},
    {"MaintenancePlan", "to_MaintenanceCycle", "MaintenancePlanCycle", "MaintenancePlan",
     "MaintenancePlan"},
    {"MaintenancePlan", "to_Item", "MaintenanceItem", "MaintenancePlan", "MaintenancePlan"},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct sap_set *sap_set_find(const struct sap_service *svc, const char *name)
{
    for (size_t i = 0; svc->sets[i]; i++)
        if (strcmp(svc->sets[i]->name, name) == 0)
            return svc->sets[i];
    return NULL;
}

const struct sap_set *sap_set_any(const char *name)
{
    for (size_t i = 0; sap_services[i]; i++) {
        const struct sap_set *set = sap_set_find(sap_services[i], name);
        if (set)
            return set;
    }
    return NULL;
}

const struct sap_field *sap_field_find(const struct sap_set *set, const char *name)
{
    for (size_t i = 0; i < set->n_fields; i++)
        if (strcmp(set->fields[i].name, name) == 0)
            return &set->fields[i];
    return NULL;
}

/* ---- formatting ------------------------------------------------------------------------------ */

void sap_fmt_date(int64_t ms, char *out, size_t n)
{
    char t[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, t);
    snprintf(out, n, "%.10s", t);
}

void sap_fmt_time(int64_t ms_of_day, char *out, size_t n)
{
    int64_t s = ms_of_day / 1000;
    snprintf(out, n, "%02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
}

/* ABAP's float rendering in V2 JSON: "1.728E5", "0.0E0" style mantissa/exponent. */
static json_t *v2_double(double d)
{
    char m[64];
    snprintf(m, sizeof(m), "%.15E", d);
    char *e = strchr(m, 'E');
    if (!e)
        return json_string(m);
    int exp = (int)strtol(e + 1, NULL, 10);
    *e = '\0';
    size_t n = strlen(m);
    while (n > 0 && m[n - 1] == '0')
        m[--n] = '\0';
    if (n > 0 && m[n - 1] == '.')
        m[n++] = '0', m[n] = '\0';
    char out[80];
    snprintf(out, sizeof(out), "%sE%d", m, exp);
    return json_string(out);
}

static json_t *number_text(double d)
{
    char t[64];
    if (d == floor(d) && fabs(d) < 1e15)
        snprintf(t, sizeof(t), "%.0f", d);
    else
        snprintf(t, sizeof(t), "%.15g", d);
    return json_string(t);
}

static json_t *value_out(bool v4, const struct sap_field *f, json_t *v)
{
    bool nul = f->flags & SF_N;
    char t[48];
    switch (f->type) {
    case SF_STR: return json_string(json_is_string(v) ? json_string_value(v) : "");
    case SF_DATE:
    case SF_DTIME:
        if (!json_is_integer(v))
            return json_null();
        if (!v4) {
            snprintf(t, sizeof(t), f->type == SF_DATE ? "/Date(%lld)/" : "/Date(%lld+0000)/",
                     (long long)json_integer_value(v));
        } else if (f->type == SF_DATE) {
            sap_fmt_date(json_integer_value(v), t, sizeof(t));
        } else {
            time_format_rfc3339(json_integer_value(v), t);
        }
        return json_string(t);
    case SF_TIME: {
        int64_t ms = json_is_integer(v) ? json_integer_value(v) : 0;
        if (v4) {
            sap_fmt_time(ms, t, sizeof(t));
        } else {
            int64_t s = ms / 1000;
            snprintf(t, sizeof(t), "PT%02dH%02dM%02dS", (int)(s / 3600), (int)(s / 60 % 60),
                     (int)(s % 60));
        }
        return json_string(t);
    }
    case SF_BOOL: return json_boolean(json_is_true(v));
    case SF_DEC:
    case SF_DBL:
        if (!json_is_number(v)) {
            if (nul)
                return json_null();
            return v4 ? json_integer(0) : json_string(f->type == SF_DEC ? "0" : "0.0E0");
        }
        if (v4)
            return json_real(json_number_value(v));
        return f->type == SF_DEC ? number_text(json_number_value(v))
                                 : v2_double(json_number_value(v));
    case SF_INT:
        if (!json_is_integer(v))
            return nul ? json_null() : json_integer(0);
        return json_integer(json_integer_value(v));
    case SF_MSGS: return json_array();
    }
    return json_null();
}

/* A key value as it appears in a predicate. */
static const char *key_literal(struct arena *a, bool v4, const struct sap_field *f, json_t *v)
{
    if (f->type == SF_DATE || f->type == SF_DTIME) {
        char t[TIME_RFC3339_MAX];
        time_format_rfc3339(json_integer_value(v), t);
        if (v4)
            return arena_strndup(a, t, 10);
        return arena_printf(a, "datetime'%.19s'", t);
    }
    if (f->type == SF_INT)
        return arena_printf(a, "%lld", (long long)json_integer_value(v));
    struct buf b;
    buf_init(&b, 4096);
    enum ab_rc rc = buf_append_char(&b, '\'');
    for (const char *p = json_string_value(v) ? json_string_value(v) : ""; !rc && *p; p++)
        rc = *p == '\'' ? buf_append_str(&b, "''") : buf_append_char(&b, *p);
    if (!rc)
        rc = buf_append_char(&b, '\'');
    const char *out = arena_strdup(a, rc ? "''" : buf_str(&b));
    buf_cleanup(&b);
    return out;
}

/* SetName(key) for entity e. */
static const char *entity_path(struct sap_ctx *c, const struct sap_set *set, json_t *e)
{
    struct arena *a = c->req->arena;
    size_t nk = 0;
    for (size_t i = 0; i < set->n_fields; i++)
        nk += (set->fields[i].flags & SF_KEY) != 0;
    const char *pred = "";
    for (size_t i = 0; i < set->n_fields; i++) {
        const struct sap_field *f = &set->fields[i];
        if (!(f->flags & SF_KEY))
            continue;
        const char *lit = key_literal(a, c->path.v4, f, json_object_get(e, f->name));
        if (nk == 1)
            pred = lit;
        else
            pred = arena_printf(a, "%s%s%s=%s", pred, *pred ? "," : "", f->name, lit);
    }
    return arena_printf(a, "%s(%s)", set->name, pred);
}

/* http://host/sap/opu/... (the service root, without a slash at the end). */
static const char *service_root(struct sap_ctx *c)
{
    const char *host = http_header(c->req, "Host");
    if (!host || !*host)
        host = "localhost";
    if (c->path.v4)
        return arena_printf(c->req->arena, "http://%s/sap/opu/odata4/sap/%s/srvd_a2x/sap/%s/%s",
                            host, c->svc->name, c->svc->v4_name, c->path.version);
    return arena_printf(c->req->arena, "http://%s/sap/opu/odata/sap/%s%s%s", host, c->svc->name,
                        c->path.version ? ";v=" : "", c->path.version ? c->path.version : "");
}

static bool in_select(const char *select, const char *name)
{
    if (!select)
        return true;
    size_t n = strlen(name);
    for (const char *p = select; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t k = strcspn(p, ", ");
        if (k == n && strncmp(p, name, n) == 0)
            return true;
        if ((k == 1 && *p == '*'))
            return true;
        p += k;
    }
    return false;
}

json_t *sap_entity_out(struct sap_ctx *c, const struct sap_set *set, json_t *e, const char *select)
{
    json_t *o = json_object();
    if (!c->path.v4) {
        const char *uri =
            arena_printf(c->req->arena, "%s/%s", service_root(c), entity_path(c, set, e));
        json_object_set_new(o, "__metadata",
                            json_pack("{s:s,s:s,s:s}", "id", uri, "uri", uri, "type",
                                      arena_printf(c->req->arena, "%s.%s", c->svc->ns, set->type)));
    }
    for (size_t i = 0; i < set->n_fields; i++) {
        const struct sap_field *f = &set->fields[i];
        if (in_select(select, f->name))
            json_object_set_new(o, f->name, value_out(c->path.v4, f, json_object_get(e, f->name)));
    }
    return o;
}

void sap_answer_entity(struct sap_ctx *c, const struct sap_set *set, json_t *e, int status)
{
    json_t *o = sap_entity_out(c, set, e, NULL);
    if (status == 201) {
        const char *loc =
            arena_printf(c->req->arena, "%s/%s", service_root(c), entity_path(c, set, e));
        sap_header(c, "Location", loc);
    }
    http_resp_json(c->resp, status, c->path.v4 ? o : json_pack("{s:o}", "d", o));
}

/* ---- parsing request values ------------------------------------------------------------------ */

static bool number_in(json_t *v, double *d)
{
    if (json_is_number(v)) {
        *d = json_number_value(v);
        return true;
    }
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    char *end;
    if (!*s)
        return false;
    *d = strtod(s, &end);
    return *end == '\0' && isfinite(*d);
}

json_t *sap_value_in(const struct sap_ctx *c, const struct sap_field *f, json_t *v, char *err,
                     size_t errlen)
{
    bool v4 = c->path.v4;
    if (json_is_null(v)) {
        if (f->flags & SF_N)
            return json_null();
        snprintf(err, errlen, "Property '%s' cannot be null", f->name);
        return NULL;
    }
    const char *s = json_string_value(v);
    int64_t ms;
    double d;
    switch (f->type) {
    case SF_STR:
        if (!s)
            break;
        if (f->maxlen && strlen(s) > (size_t)f->maxlen) {
            snprintf(err, errlen, "Property '%s' is longer than %d characters", f->name, f->maxlen);
            return NULL;
        }
        return json_string(s);
    case SF_DATE:
    case SF_DTIME:
        if (!s)
            break;
        if (!v4 && sap_json_date_parse(s, &ms))
            return json_integer(ms);
        if (f->type == SF_DATE && strlen(s) == 10) {
            char t[32];
            snprintf(t, sizeof(t), "%sT00:00:00Z", s);
            if (time_parse_rfc3339(t, &ms) == AB_OK)
                return json_integer(ms);
        }
        if (time_parse_rfc3339(s, &ms) == AB_OK)
            return json_integer(!v4 && f->type == SF_DATE ? ms - ms % SAP_DAY_MS : ms);
        if (!v4 && strlen(s) == 19) { /* Edm.DateTime without a zone: UTC */
            char t[32];
            snprintf(t, sizeof(t), "%sZ", s);
            if (time_parse_rfc3339(t, &ms) == AB_OK)
                return json_integer(ms);
        }
        break;
    case SF_TIME:
        if (!s)
            break;
        if (!v4 && sap_duration_parse(s, &ms))
            return json_integer(ms);
        if (v4 && strlen(s) >= 8 && s[2] == ':' && s[5] == ':') {
            char t[48];
            snprintf(t, sizeof(t), "1970-01-01T%sZ", s);
            if (time_parse_rfc3339(t, &ms) == AB_OK && ms < SAP_DAY_MS)
                return json_integer(ms);
        }
        break;
    case SF_BOOL:
        if (json_is_boolean(v))
            return json_boolean(json_is_true(v));
        break;
    case SF_DEC:
    case SF_DBL:
        if (number_in(v, &d))
            return json_real(d);
        break;
    case SF_INT:
        if (json_is_integer(v))
            return json_integer(json_integer_value(v));
        break;
    case SF_MSGS:
        if (json_is_array(v))
            return json_null(); /* accepted, never stored */
        break;
    }
    static const char *const names[] = {"Edm.String", "Edm.Date/DateTime", "Edm.DateTimeOffset",
                                        "Edm.Time",   "Edm.Boolean",       "Edm.Decimal",
                                        "Edm.Double", "Edm.Int32",         "a collection"};
    snprintf(err, errlen, "Property '%s' has an invalid value for %s", f->name, names[f->type]);
    return NULL;
}

/* ---- storage -------------------------------------------------------------------------------- */

const char *sap_key_of(struct arena *a, const struct sap_set *set, json_t *e)
{
    const char *key = NULL;
    for (size_t i = 0; i < set->n_fields; i++) {
        const struct sap_field *f = &set->fields[i];
        if (!(f->flags & SF_KEY))
            continue;
        json_t *v = json_object_get(e, f->name);
        const char *t = json_is_string(v) ? json_string_value(v)
                        : json_is_integer(v)
                            ? arena_printf(a, "%lld", (long long)json_integer_value(v))
                            : "";
        key = key ? arena_printf(a, "%s|%s", key, t) : t;
    }
    return key ? key : "";
}

json_t *sap_load(struct sim *s, const char *table, const char *key)
{
    sqlite3_stmt *st;
    json_t *out = NULL;
    if (sqlite3_prepare_v2(sim_db(s),
                           "SELECT data FROM sap_entities WHERE set_name = ? AND key = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        out = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    sqlite3_finalize(st);
    return out;
}

enum ab_rc sap_store(struct sim *s, const struct sap_set *set, const char *key, json_t *e)
{
    char *text = json_dumps(e, JSON_COMPACT);
    sqlite3_stmt *st;
    enum ab_rc rc = AB_EINTERNAL;
    if (text && sqlite3_prepare_v2(sim_db(s),
                                   "INSERT OR REPLACE INTO sap_entities(set_name, key, data) "
                                   "VALUES (?, ?, ?)",
                                   -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, set->table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = AB_OK;
        sqlite3_finalize(st);
    }
    free(text);
    return rc;
}

const char *sap_key_from_path(struct sap_ctx *c)
{
    const struct sap_set *set = c->set;
    struct arena *a = c->req->arena;
    size_t nk = 0;
    for (size_t i = 0; i < set->n_fields; i++)
        nk += (set->fields[i].flags & SF_KEY) != 0;
    if (c->path.n_keys != nk) {
        sap_fail(c, 400, "SIM/KEY", "The key predicate of '%s' needs %zu value(s), got %zu",
                 set->name, nk, c->path.n_keys);
        return NULL;
    }
    const char *key = NULL;
    for (size_t i = 0; i < set->n_fields; i++) {
        const struct sap_field *f = &set->fields[i];
        if (!(f->flags & SF_KEY))
            continue;
        const struct sap_lit_val *v = NULL;
        for (size_t k = 0; k < c->path.n_keys; k++)
            if ((c->path.keys[k].name && strcmp(c->path.keys[k].name, f->name) == 0) ||
                (!c->path.keys[k].name && nk == 1))
                v = &c->path.keys[k];
        if (!v) {
            sap_fail(c, 400, "SIM/KEY", "The key predicate lacks '%s'", f->name);
            return NULL;
        }
        const char *t = NULL;
        int64_t iv;
        if (f->type == SF_STR && v->kind == SAP_LIT_STRING) {
            t = v->text;
        } else if (f->type == SF_INT && v->kind == SAP_LIT_BARE &&
                   str_to_i64(v->text, &iv) == AB_OK) {
            t = arena_printf(a, "%lld", (long long)iv);
        } else if ((f->type == SF_DATE || f->type == SF_DTIME) && !c->path.v4 &&
                   v->kind == SAP_LIT_DATETIME) {
            t = arena_printf(a, "%lld", (long long)v->ms);
        } else if (f->type == SF_DATE && c->path.v4 && v->kind == SAP_LIT_BARE &&
                   strlen(v->text) == 10) {
            int64_t ms;
            if (time_parse_rfc3339(arena_printf(a, "%sT00:00:00Z", v->text), &ms) == AB_OK)
                t = arena_printf(a, "%lld", (long long)ms);
        }
        if (!t) {
            sap_fail(c, 400, "SIM/KEY", "Invalid key predicate value for '%s' (%s)", f->name,
                     f->type == SF_STR   ? "expected a quoted string"
                     : f->type == SF_INT ? "expected an integer"
                     : c->path.v4        ? "expected a date"
                                         : "expected datetime'...'");
            return NULL;
        }
        key = key ? arena_printf(a, "%s|%s", key, t) : t;
    }
    return key;
}

/* ---- GET --------------------------------------------------------------------------------------
 */

static bool nonneg(const char *s, int64_t *out)
{
    return s && *s && str_to_i64(s, out) == AB_OK && *out >= 0;
}

/* The query string without $skip/$skiptoken/$top, for next links (raw form). */
static const char *query_without_paging(struct arena *a, const char *q)
{
    const char *out = "";
    while (*q) {
        size_t len = strcspn(q, "&");
        bool drop =
            (len >= 6 && (strncmp(q, "$skip=", 6) == 0 || strncmp(q, "%24skip=", 8) == 0)) ||
            strncmp(q, "$skiptoken=", 11) == 0 || strncmp(q, "%24skiptoken=", 13) == 0 ||
            strncmp(q, "$top=", 5) == 0 || strncmp(q, "%24top=", 7) == 0;
        if (!drop && len)
            out = arena_printf(a, "%s%s%.*s", out, *out ? "&" : "", (int)len, q);
        q += len;
        if (*q == '&')
            q++;
    }
    return out;
}

static const char *const v2_options[] = {"$filter",    "$orderby", "$top",    "$skip",
                                         "$select",    "$expand",  "$format", "$inlinecount",
                                         "$skiptoken", NULL};
static const char *const v4_options[] = {"$filter", "$orderby", "$top",   "$skip",      "$select",
                                         "$expand", "$format",  "$count", "$skiptoken", NULL};

/* 400 for a system query option the dialect does not know. */
static bool options_known(struct sap_ctx *c)
{
    const char *q = c->req->query;
    const char *const *known = c->path.v4 ? v4_options : v2_options;
    while (*q) {
        size_t len = strcspn(q, "&");
        char *name;
        size_t nl = strcspn(q, "=&");
        if (nl > len)
            nl = len;
        if (http_url_decode(c->req->arena, q, nl, true, &name) == AB_OK && name[0] == '$') {
            bool ok = false;
            for (size_t i = 0; known[i]; i++)
                ok |= strcmp(known[i], name) == 0;
            if (!ok) {
                sap_fail(c, 400, "SIM/QUERY", "Invalid system query option '%s'", name);
                return false;
            }
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return true;
}

/* The odata_field list of a set (time and message properties cannot be filtered). */
static struct odata_field *odata_fields(struct arena *a, const struct sap_set *set, size_t *n)
{
    struct odata_field *out = arena_zalloc(a, set->n_fields * sizeof(*out));
    size_t k = 0;
    for (size_t i = 0; i < set->n_fields; i++) {
        const struct sap_field *f = &set->fields[i];
        enum odata_type t;
        switch (f->type) {
        case SF_STR: t = ODATA_STRING; break;
        case SF_DATE:
        case SF_DTIME: t = ODATA_DATETIME; break;
        case SF_BOOL: t = ODATA_BOOL; break;
        case SF_DEC:
        case SF_DBL: t = ODATA_DOUBLE; break;
        case SF_INT: t = ODATA_INT; break;
        default: continue;
        }
        out[k].name = f->name;
        out[k].sql = arena_printf(a, "json_extract(e.data, '$.%s')", f->name);
        out[k].type = t;
        out[k].orderable = true;
        k++;
    }
    *n = k;
    return out;
}

static bool select_valid(struct sap_ctx *c, const struct sap_set *set, const char *select)
{
    for (const char *p = select; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t k = strcspn(p, ", ");
        if (!k)
            break;
        char *name = arena_strndup(c->req->arena, p, k);
        if (strcmp(name, "*") != 0 && !sap_field_find(set, name)) {
            sap_fail(c, 400, "SIM/QUERY", "Property '%s' in $select does not exist in %s", name,
                     set->type);
            return false;
        }
        p += k;
    }
    return true;
}

static void get_one(struct sap_ctx *c, const char *select)
{
    const char *key = sap_key_from_path(c);
    if (!key)
        return;
    json_t *e = sap_load(c->s, c->set->table, key);
    if (!e) {
        sap_fail(c, 404, "SIM/NOT_FOUND", "Resource not found for segment '%s'", c->set->name);
        return;
    }
    json_t *o = sap_entity_out(c, c->set, e, select);
    json_decref(e);
    http_resp_json(c->resp, 200, c->path.v4 ? o : json_pack("{s:o}", "d", o));
}

void sap_get(struct sap_ctx *c, const char *nav_field, const char *nav_value)
{
    struct arena *a = c->req->arena;
    bool v4 = c->path.v4;
    if (!options_known(c))
        return;
    const char *fmt = http_query(c->req, "$format");
    if (fmt && strcmp(fmt, "json") != 0) {
        sap_fail(c, 406, "SIM/FORMAT", "The simulator serves $format=json only");
        return;
    }
    if (http_query(c->req, "$expand")) {
        sap_fail(c, 501, "SIM/NOT_IMPLEMENTED", "$expand is not supported by the simulator");
        return;
    }
    const char *select = http_query(c->req, "$select");
    if (select && !select_valid(c, c->set, select))
        return;
    if (c->path.has_key && !nav_field) {
        get_one(c, select);
        return;
    }
    size_t nf;
    struct odata_field *fields = odata_fields(a, c->set, &nf);
    unsigned flags = ODATA_F_CASE_SENSITIVE | (v4 ? 0 : ODATA_F_TYPED_LITERALS);
    struct odata_sql filter;
    const char *order;
    char err[ODATA_ERR_MAX];
    if (odata_filter_compile_ex(a, http_query(c->req, "$filter"), fields, nf, flags, &filter,
                                err) ||
        odata_orderby_compile_ex(a, http_query(c->req, "$orderby"), fields, nf, flags, &order,
                                 err)) {
        sap_fail(c, 400, "SIM/QUERY", "Invalid query: %s", err);
        return;
    }
    int64_t top = -1, skip = 0, token;
    const char *ts = http_query(c->req, "$top"), *ss = http_query(c->req, "$skip"),
               *tk = http_query(c->req, "$skiptoken");
    if ((ts && !nonneg(ts, &top)) || (ss && !nonneg(ss, &skip))) {
        sap_fail(c, 400, "SIM/QUERY", "$top and $skip take a non-negative integer");
        return;
    }
    if (tk) {
        if (!nonneg(tk, &token)) {
            sap_fail(c, 400, "SIM/QUERY", "Invalid $skiptoken '%s'", tk);
            return;
        }
        skip = token;
    }
    bool count = false;
    const char *ic = http_query(c->req, v4 ? "$count" : "$inlinecount");
    if (ic) {
        if (v4 ? (strcmp(ic, "true") != 0 && strcmp(ic, "false") != 0)
               : (strcmp(ic, "allpages") != 0 && strcmp(ic, "none") != 0)) {
            sap_fail(c, 400, "SIM/QUERY",
                     v4 ? "$count takes true or false" : "$inlinecount takes allpages or none");
            return;
        }
        count = strcmp(ic, v4 ? "true" : "allpages") == 0;
    }
    int64_t page = v4 ? c->cfg.v4_page : c->cfg.v2_page;
    int64_t limit = top;
    bool paged = false;
    if (page > 0 && (limit < 0 || limit > page)) {
        limit = page;
        paged = true;
    }
    const char *where =
        arena_printf(a, "e.set_name = ?%s%s%s%s", nav_field ? " AND json_extract(e.data, '$." : "",
                     nav_field ? nav_field : "", nav_field ? "') = ?" : "",
                     *filter.sql ? arena_printf(a, " AND (%s)", filter.sql) : "");
    sqlite3 *db = sim_db(c->s);
    sqlite3_stmt *st;
    const char *sql =
        arena_printf(a,
                     "SELECT data FROM sap_entities e WHERE %s ORDER BY %s%slength(e.key), "
                     "e.key LIMIT ? OFFSET ?",
                     where, order, *order ? ", " : "");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sap_fail(c, 500, "SIM/INTERNAL", "query failed: %s", sqlite3_errmsg(db));
        return;
    }
    int i = 1;
    sqlite3_bind_text(st, i++, c->set->table, -1, SQLITE_STATIC);
    if (nav_field)
        sqlite3_bind_text(st, i++, nav_value, -1, SQLITE_STATIC);
    i = odata_bind(st, &filter, i);
    sqlite3_bind_int64(st, i++, paged ? limit + 1 : limit);
    sqlite3_bind_int64(st, i, skip);
    json_t *rows = json_array();
    int64_t n = 0;
    bool more = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (paged && n == limit) {
            more = true;
            break;
        }
        json_t *e = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        if (e) {
            json_array_append_new(rows, sap_entity_out(c, c->set, e, select));
            json_decref(e);
        }
        n++;
    }
    sqlite3_finalize(st);
    int64_t total = -1;
    if (count) {
        sql = arena_printf(a, "SELECT count(*) FROM sap_entities e WHERE %s", where);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            i = 1;
            sqlite3_bind_text(st, i++, c->set->table, -1, SQLITE_STATIC);
            if (nav_field)
                sqlite3_bind_text(st, i++, nav_value, -1, SQLITE_STATIC);
            (void)odata_bind(st, &filter, i);
            if (sqlite3_step(st) == SQLITE_ROW)
                total = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    const char *next = NULL;
    if (more && (top < 0 || top > n)) {
        long long off = (long long)skip + (long long)n, left = (long long)top - (long long)n;
        const char *rest = query_without_paging(a, c->req->query);
        const char *q = arena_printf(a, "%s%s$skiptoken=%lld", rest, *rest ? "&" : "", off);
        if (top >= 0)
            q = arena_printf(a, "%s&$top=%lld", q, left);
        const char *res = c->path.nav ? arena_printf(a, "%s/%s", c->path.resource, c->path.nav)
                                      : c->path.resource;
        if (c->path.has_key) { /* navigation: keep the source's key predicate */
            const char *p = strstr(c->req->path, c->path.resource);
            res = p ? p : res;
        }
        next = v4 ? arena_printf(a, "%s?%s", res, q)
                  : arena_printf(a, "%s/%s?%s", service_root(c), res, q);
    }
    json_t *body = json_object();
    if (v4) {
        if (total >= 0)
            json_object_set_new(body, "@count", json_integer(total));
        json_object_set_new(body, "value", rows);
        if (next)
            json_object_set_new(body, "@odata.nextLink", json_string(next));
        http_resp_json(c->resp, 200, body);
    } else {
        if (total >= 0)
            json_object_set_new(body, "__count",
                                json_string(arena_printf(a, "%lld", (long long)total)));
        json_object_set_new(body, "results", rows);
        if (next)
            json_object_set_new(body, "__next", json_string(next));
        http_resp_json(c->resp, 200, json_pack("{s:o}", "d", body));
    }
}

/* ---- POST / PATCH ---------------------------------------------------------------------------- */

/* The request body as a JSON object (a V2 {"d":{...}} wrapper is unwrapped). */
static json_t *body_object(struct sap_ctx *c)
{
    json_t *b;
    char err[JSON_ERR_MAX];
    if (json_parse_object(c->req->arena, c->req->body, c->req->body_len, &b, err)) {
        sap_fail(c, 400, "SIM/BODY", "The request body is not a JSON object: %s", err);
        return NULL;
    }
    json_t *d = json_object_get(b, "d");
    if (!c->path.v4 && json_object_size(b) == 1 && json_is_object(d))
        return d;
    return b;
}

/* Copy the body's properties into e (internal form). mask: SF_C or SF_U. */
static bool apply_body(struct sap_ctx *c, json_t *body, json_t *e, unsigned mask, bool update)
{
    const char *name;
    json_t *v;
    json_object_foreach (body, name, v) {
        if (strcmp(name, "__metadata") == 0 || str_has_prefix(name, "@odata.") ||
            strcmp(name, "SAP__Messages") == 0)
            continue;
        if (str_has_prefix(name, "to_") || (c->path.v4 && name[0] == '_')) {
            sap_fail(c, 400, "SIM/DEEP_INSERT",
                     "Navigation property '%s': deep insert is not supported by the simulator",
                     name);
            return false;
        }
        const struct sap_field *f = sap_field_find(c->set, name);
        if (!f) {
            sap_fail(c, 400, "SIM/PROPERTY", "Property '%s' is invalid: it does not exist in %s",
                     name, c->set->type);
            return false;
        }
        char err[256];
        json_t *iv = sap_value_in(c, f, v, err, sizeof(err));
        if (!iv) {
            sap_fail(c, 400, "SIM/VALUE", "%s", err);
            return false;
        }
        if (update && (f->flags & SF_KEY)) {
            json_t *old = json_object_get(e, f->name);
            bool same = json_equal(old, iv);
            json_decref(iv);
            if (!same) {
                sap_fail(c, 400, "SIM/KEY", "Key property '%s' cannot be changed", name);
                return false;
            }
            continue;
        }
        if (!(f->flags & mask)) { /* read-only: ignored, as Gateway does */
            json_decref(iv);
            continue;
        }
        if (json_is_null(iv))
            json_object_del(e, f->name);
        else
            json_object_set(e, f->name, iv);
        json_decref(iv);
    }
    return true;
}

void sap_stamp(struct sap_ctx *c, const struct sap_set *set, json_t *e, bool created)
{
    int64_t now = sim_stamp(c->s);
    static const char *const dts[] = {"LastChangeDateTime", "LASTCHANGEDATETIME"};
    for (size_t i = 0; i < 2; i++)
        if (sap_field_find(set, dts[i]))
            json_object_set_new(e, dts[i], json_integer(now));
    if (sap_field_find(set, "LastChangeDate"))
        json_object_set_new(e, "LastChangeDate", json_integer(now - now % SAP_DAY_MS));
    if (sap_field_find(set, "LastChangeTime"))
        json_object_set_new(e, "LastChangeTime", json_integer(now % SAP_DAY_MS));
    if (created && sap_field_find(set, "CreationDate") && !json_object_get(e, "CreationDate"))
        json_object_set_new(e, "CreationDate", json_integer(now - now % SAP_DAY_MS));
    if (created && sap_field_find(set, "CreationTime"))
        json_object_set_new(e, "CreationTime", json_integer(now % SAP_DAY_MS));
    const char *user = sim_options(c->s)->user;
    if (sap_field_find(set, "LastChangedByUser"))
        json_object_set_new(e, "LastChangedByUser", json_string(user ? user : ""));
    if (created && sap_field_find(set, "CreatedByUser"))
        json_object_set_new(e, "CreatedByUser", json_string(user ? user : ""));
}

void sap_create(struct sap_ctx *c)
{
    json_t *body = body_object(c);
    if (!body)
        return;
    json_t *e = json_arena_own(c->req->arena, json_object());
    if (!apply_body(c, body, e, SF_C, false))
        return;
    if (c->set->create && !c->set->create(c, e))
        return;
    const char *key = sap_key_of(c->req->arena, c->set, e);
    json_t *old = sap_load(c->s, c->set->table, key);
    if (old) {
        json_decref(old);
        sap_fail(c, 400, "SIM/EXISTS", "%s %s already exists", c->set->name, key);
        return;
    }
    sap_stamp(c, c->set, e, true);
    if (sap_store(c->s, c->set, key, e)) {
        sap_fail(c, 500, "SIM/INTERNAL", "cannot store the entity");
        return;
    }
    if (c->set->created_effect)
        sim_effect(c->s, c->set->created_effect, 1);
    sap_answer_entity(c, c->set, e, 201);
}

void sap_update(struct sap_ctx *c)
{
    const char *key = sap_key_from_path(c);
    if (!key)
        return;
    json_t *e = sap_load(c->s, c->set->table, key);
    if (!e) {
        sap_fail(c, 404, "SIM/NOT_FOUND", "Resource not found for segment '%s'", c->set->name);
        return;
    }
    json_arena_own(c->req->arena, e);
    json_t *body = body_object(c);
    if (!body || !apply_body(c, body, e, SF_U, true))
        return;
    sap_stamp(c, c->set, e, false);
    if (sap_store(c->s, c->set, key, e)) {
        sap_fail(c, 500, "SIM/INTERNAL", "cannot store the entity");
        return;
    }
    if (c->set->updated_effect)
        sim_effect(c->s, c->set->updated_effect, 1);
    http_resp_text(c->resp, 204, "application/json", "");
}
