// The shape of a PixHive dashboard for check.mjs: @grafana/schema's Dashboard, with each panel's
// options and custom field config held to its plugin's types (timeseries, stat) and each target to
// Prometheus's query model, which @grafana/schema leaves as Record<string, unknown>.
import type { Dashboard, FieldConfig, FieldConfigSource, Panel, RowPanel } from "@grafana/schema";
import type {
  FieldConfig as TimeSeriesFieldConfig,
  Options as TimeSeriesOptions,
} from "@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";
import type { Options as StatOptions } from "@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen";

// Dashboard JSON holds a string enum's value ("palette-classic"), which TypeScript refuses where
// the enum member (FieldColorModeId.PaletteClassic) is expected: take every string enum as the
// union of its values. Numeric enums already accept their numbers.
type IsAny<T> = 0 extends 1 & T ? true : false;
export type Json<T> =
  IsAny<T> extends true
    ? T
    : T extends string
      ? `${T}`
      : T extends readonly (infer U)[]
        ? Json<U>[]
        : T extends object
          ? { [K in keyof T]: Json<T[K]> }
          : T;

// Grafana's Prometheus query (public/app/plugins/datasource/prometheus dataquery), the fields a
// dashboard saves. A type, not an interface: only a type literal fits Panel's
// Record<string, unknown> targets.
export type PrometheusTarget = {
  refId: string;
  datasource: { type: "prometheus"; uid: string };
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  exemplar?: boolean;
  editorMode?: "code" | "builder";
  format?: "time_series" | "table" | "heatmap";
  interval?: string;
  intervalFactor?: number;
  hide?: boolean;
};

type PluginPanel<Type extends string, Options, Custom> = Omit<Json<Panel>, "type" | "options" | "fieldConfig" | "targets"> & {
  type: Type;
  options: Json<Options>;
  fieldConfig: Omit<Json<FieldConfigSource>, "defaults"> & {
    defaults: Omit<Json<FieldConfig>, "custom"> & { custom?: Json<Custom> };
  };
  targets: PrometheusTarget[];
};

export type PixHivePanel =
  | PluginPanel<"timeseries", TimeSeriesOptions, TimeSeriesFieldConfig>
  | PluginPanel<"stat", StatOptions, Record<string, never>>
  | (Omit<Json<RowPanel>, "panels"> & { panels: PixHivePanel[] });

export type PixHiveDashboard = Omit<Json<Dashboard>, "panels"> & { panels: PixHivePanel[] };

// A PixHive dashboard is a Grafana dashboard: if @grafana/schema's Dashboard changes so that this
// no longer holds, PixHiveDashboard needs following.
export type IsDashboard<D extends Json<Dashboard>> = D;
export type PixHiveDashboardIsDashboard = IsDashboard<PixHiveDashboard>;
