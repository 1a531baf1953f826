{#- Column lists shared by several models, so a hyperparameter is added in one place. -#}

{% macro butter_hyperparameters() -%}
    {{- return([
        'dataset', 'shape', 'depth', 'size', 'num_free_parameters',
        'learning_rate', 'batch_size', 'label_noise',
        'kernel_regularizer_type', 'kernel_regularizer_l1', 'kernel_regularizer_l2',
        'epochs', 'optimizer',
    ]) -}}
{%- endmacro %}


{% macro butter_sweep_flags() -%}
    {%- set flags = [] -%}
    {%- for sweep in butter_sweeps() -%}
        {%- do flags.append('is_' ~ sweep ~ '_sweep') -%}
    {%- endfor -%}
    {{- return(flags) -}}
{%- endmacro %}


{#- Run metrics (per-epoch arrays of a run), in warehouse spelling. -#}
{% macro butter_run_metrics() -%}
    {%- set metrics = [] -%}
    {%- for col in butter_columns('runs') if col.sql_type.endswith('[]') and col.name != 'widths' -%}
        {%- do metrics.append(col.name) -%}
    {%- endfor -%}
    {{- return(metrics) -}}
{%- endmacro %}


{#- The run metrics that are accuracies (fractions in [0, 1]): every metric named *accuracy*. -#}
{% macro butter_accuracy_metrics() -%}
    {%- set accuracies = [] -%}
    {%- for metric in butter_run_metrics() if 'accuracy' in metric -%}
        {%- do accuracies.append(metric) -%}
    {%- endfor -%}
    {{- return(accuracies) -}}
{%- endmacro %}


{#- Summary statistics (per-epoch arrays of an experiment), in warehouse spelling. -#}
{% macro butter_summary_statistics() -%}
    {%- set stats = [] -%}
    {%- for col in butter_columns('summary') if col.sql_type.endswith('[]') and col.name != 'widths' -%}
        {%- do stats.append(col.name) -%}
    {%- endfor -%}
    {{- return(stats) -}}
{%- endmacro %}


{#- Columns compared between copies of one run or experiment held in several
    folders (cheap columns only: comparing arrays would read the data again). -#}
{% macro butter_agreement_columns(kind) -%}
    {%- set columns = ['experiment_id'] + butter_hyperparameters() + butter_sweep_flags() -%}
    {%- if kind == 'runs' -%}
        {%- set columns = columns + ['seed', 'started_at', 'updated_at'] -%}
    {%- else -%}
        {%- set columns = columns + ['num_runs'] -%}
    {%- endif -%}
    {{- return(columns) -}}
{%- endmacro %}


{#- The hyperparameters a sweep comparison group may hold equal: every
    hyperparameter except num_free_parameters, which follows from size and shape,
    and the momentum (not a published column: marts.experiment_summary reads it
    from the runs' command). -#}
{% macro butter_comparison_hyperparameters() -%}
    {%- set columns = [] -%}
    {%- for column in butter_hyperparameters() if column != 'num_free_parameters' -%}
        {%- do columns.append(column) -%}
    {%- endfor -%}
    {%- do columns.append('momentum') -%}
    {{- return(columns) -}}
{%- endmacro %}


{#- How the marts type the key and hyperparameter columns: signed integers only,
    and DOUBLE for the real-valued hyperparameters, holding the decimal they were
    published with (see butter_exact_double). -#}
{% macro butter_mart_types() -%}
    {{- return({
        'experiment_id': 'bigint',
        'dataset': 'varchar',
        'shape': 'varchar',
        'depth': 'integer',
        'size': 'bigint',
        'num_free_parameters': 'bigint',
        'learning_rate': 'double',
        'batch_size': 'integer',
        'label_noise': 'double',
        'kernel_regularizer_type': 'varchar',
        'kernel_regularizer_l1': 'double',
        'kernel_regularizer_l2': 'double',
        'epochs': 'integer',
        'optimizer': 'varchar',
        'num_runs': 'integer',
    }) -}}
{%- endmacro %}


{#- A key or hyperparameter column cast to its mart type (butter_mart_types):
    real-valued hyperparameters through butter_exact_double, the others with a
    plain cast. `expr` defaults to the column name. -#}
{% macro butter_mart_value(column, expr=none) -%}
    {%- set expression = expr if expr is not none else column -%}
    {%- set data_type = butter_mart_types()[column] -%}
    {%- if data_type == 'double' -%}
        {{ butter_exact_double(expression) }}
    {%- else -%}
        cast({{ expression }} as {{ butter_type(data_type) }})
    {%- endif -%}
{%- endmacro %}


{#- The per-run figures whose distribution over an experiment's runs the
    warehouse publishes: each best-point metric's best epoch and best value
    (butter_best_point_metrics, generated from the contract), then the final
    train loss. -#}
{% macro butter_run_best_point_figures() -%}
    {%- set figures = [] -%}
    {%- for best in butter_best_point_metrics() -%}
        {%- do figures.extend(['best_' ~ best.metric ~ '_epoch', 'best_' ~ best.metric]) -%}
    {%- endfor -%}
    {%- do figures.append('final_train_loss') -%}
    {{- return(figures) -}}
{%- endmacro %}


{#- NREL's published best-point statistics, read off the contract's summary
    columns named `nrel_best_...` (butter_columns): one dict each with `nrel`
    (the staged name, `nrel_best_test_loss_epoch_median`), `nrel_source`
    (NREL's own name, `test_loss_min_epoch_median`), `metric`, `part`
    (`epoch` or `value`), `stat` and `warehouse` (the warehouse's own figure
    from the runs it is compared with, `best_test_loss_epoch_median`). -#}
{% macro butter_best_point_statistics() -%}
    {%- set prefix = 'nrel_best_' -%}
    {%- set statistics = [] -%}
    {%- for col in butter_columns('summary') if col.name.startswith(prefix) -%}
        {%- set figure, stat = col.name[prefix | length:].rsplit('_', 1) -%}
        {%- set part = 'epoch' if figure.endswith('_epoch') else 'value' -%}
        {%- set metric = figure[:-('_epoch' | length)] if part == 'epoch' else figure -%}
        {%- do statistics.append({
            'nrel': col.name, 'nrel_source': col.framework, 'metric': metric, 'part': part, 'stat': stat,
            'warehouse': 'best_' ~ figure ~ '_' ~ stat,
        }) -%}
    {%- endfor -%}
    {{- return(statistics) -}}
{%- endmacro %}
